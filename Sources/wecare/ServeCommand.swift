import ArgumentParser
import Dispatch
import Foundation
import Gateway
import Logging
import ReadingRoom

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway: receive, spool, analyse and deliver until SIGTERM or SIGINT.")

    @Option(name: .long, help: "The configuration file.")
    var config: String = "conf/gateway.toml"

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() async throws {
        PrivateFiles.restrictCreatedFiles()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "wecare.gateway")
        let configuration: GatewayConfiguration
        do {
            configuration = try ConfigurationLoader.load(URL(fileURLWithPath: config))
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data((error.description + "\nnot starting: fix the configuration (see wecare check-config)\n").utf8))
            throw ExitCode(2)
        }
        for warning in PrivateFiles.warnings(dataDirectory: configuration.dataDirectory) {
            logger.warning("\(warning)")
        }
        var processor: IsolatedProcessor?
        if configuration.analysis.enabled {
            do {
                processor = try makeIsolatedProcessor(configuration.analysis, logLevel: logLevel, logger: logger)
            } catch {
                FileHandle.standardError.write(Data("not starting: cannot load the analysis: \(error)\n".utf8))
                throw ExitCode(3)
            }
        }
        // Signals are turned into a graceful stop; ignore their default action first.
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let stopSignal = SignalWaiter(signals: [SIGTERM, SIGINT])

        let scratch = Spool.temporaryDirectory(dataDirectory: configuration.dataDirectory)
        let a = configuration.analysis
        let routes = processor.map {
            [AnalysisRoutes.installer($0.pool, timeout: a.imageTimeoutSeconds, maxWaiting: 2 * a.workers, scratch: scratch)]
        } ?? []
        let readingRoom = configuration.review.enabled ? ReadingRoom(settings: configuration.review, logger: logger) : nil
        // The self-exam page is public: served with the reading room off too.
        let publicPages = readingRoom == nil ? [PublicPages.installer] : []
        let service = try GatewayService(configuration: configuration, processor: processor, routes: routes + publicPages,
                                         readingRoom: readingRoom, logger: logger)
        do {
            try await service.start()
        } catch {
            processor?.pool.stop()
            FileHandle.standardError.write(Data("not starting: \(error)\n".utf8))
            throw ExitCode(4)
        }
        // One parseable line for scripts and tests that start the gateway on port 0.
        print("wecare: listening dicom=\(service.dicomPort) http=\(service.httpPort.map(String.init) ?? "off")")
        fflush(stdout)
        let received = await stopSignal.wait()
        logger.notice("signal received, stopping", metadata: ["signal": "\(received)"])
        await service.stop()
        processor?.pool.stop()
    }
}

/// Waits for the first of some signals (dispatch sources, so no work happens in a signal handler).
final class SignalWaiter: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var sources: [DispatchSourceSignal] = []
    private var fired: Int32?
    private var continuation: CheckedContinuation<Int32, Never>?

    init(signals: [Int32]) {
        for s in signals {
            let source = DispatchSource.makeSignalSource(signal: s, queue: .global())
            source.setEventHandler { [weak self] in self?.fire(s) }
            source.resume()
            sources.append(source)
        }
    }

    private func fire(_ signal: Int32) {
        lock.lock()
        if fired == nil { fired = signal }
        let c = continuation
        continuation = nil
        lock.unlock()
        c?.resume(returning: signal)
    }

    func wait() async -> Int32 {
        await withCheckedContinuation { c in
            lock.lock()
            if let fired {
                lock.unlock()
                c.resume(returning: fired)
            } else {
                continuation = c
                lock.unlock()
            }
        }
    }
}
