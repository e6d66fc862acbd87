import ArgumentParser
import Foundation
import Gateway
import Logging
import Reporting

/// One analysis worker process, started and supervised by `wecare serve` (see `WorkerPool`):
/// it decodes and analyses images sent to it over its standard input, so that an image that
/// crashes a decoder or exhausts memory ends this process, never the gateway.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "An analysis worker process (started by `wecare serve`; not for direct use).",
        shouldDisplay: false)

    @Option(name: .long, help: "The ONNX model.")
    var model: String

    @Option(name: .long, help: "Inference threads.")
    var threads: Int = 1

    @Option(name: .long, help: "Mask threshold override.")
    var threshold: Double?

    @Option(name: .long, help: "Address space limit in MB.")
    var memoryMb: Int = 3072

    @Option(name: .long, help: "Log level.")
    var logLevel: String = "info"

    func run() async throws {
        WorkerLoop.confine(memoryBytes: UInt64(max(256, memoryMb)) << 20)
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let settings = AnalysisSettings(model: URL(fileURLWithPath: model), workers: 1, threads: max(1, threads),
                                        threshold: threshold)
        let failpoint = Failpoint.fromEnvironment()
        let code = await WorkerLoop.run {
            let processor = try makeInstanceProcessor(settings)
            return (processor.producerVersion, { request in
                try await Self.serve(request, processor, failpoint)
            })
        }
        throw ExitCode(code)
    }

    private static func serve(_ request: WorkerRequest, _ processor: ReportingProcessor, _ failpoint: Failpoint?) async throws
        -> WorkerReply {
        switch request {
        case .analyze(let instance, let kinds):
            failpoint?.trigger(for: instance.sopInstanceUID)
            return .objects(try await processor.process(instance, making: Set(kinds)))
        case .unavailable(let instance, let reason):
            return .objects(try await processor.unavailableReport(instance, reason: reason))
        case .http(let route, let file):
            failpoint?.trigger(for: "http")
            let (status, body) = AnalysisRoutes.render(route: route, file: file, reporter: processor.reporter)
            return .http(status: status, body: body)
        }
    }
}

/// Faults injected on purpose, for the tests of worker supervision: with
/// `WECARE_WORKER_FAILPOINT=crash:UID[,hang:UID][,oom:UID]` the worker aborts, hangs, or
/// allocates until its memory limit stops it, when asked to analyse that SOP Instance UID
/// (`http` in place of a UID: any HTTP analysis).
/// Unset, as in every real deployment, it does nothing.
struct Failpoint {
    enum Action: String { case crash, hang, oom }
    var actions: [String: Action]

    static func fromEnvironment() -> Failpoint? {
        guard let value = ProcessInfo.processInfo.environment["WECARE_WORKER_FAILPOINT"] else { return nil }
        var actions: [String: Action] = [:]
        for entry in value.split(separator: ",") {
            guard let colon = entry.firstIndex(of: ":"), let action = Action(rawValue: String(entry[..<colon])) else { continue }
            actions[String(entry[entry.index(after: colon)...])] = action
        }
        return actions.isEmpty ? nil : Failpoint(actions: actions)
    }

    func trigger(for uid: String) {
        guard let action = actions[uid] else { return }
        switch action {
        case .crash:
            abort()
        case .hang:
            while true { sleep(3600) }
        case .oom:
            var blocks: [UnsafeMutableRawPointer] = []
            while true {
                guard let p = malloc(64 << 20) else { fatalError("out of memory (worker memory limit)") }
                memset(p, 1, 64 << 20)
                blocks.append(p)
            }
        }
    }
}
