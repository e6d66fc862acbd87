import ArgumentParser
import Dispatch
import Foundation
import Inference
import Synchronization

/// `wecare bench`: times the Swift engine on one model; prints one JSON line.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Time the ONNX engine on a model (median of --runs, after warm-up).")

    @Option(help: "ONNX model file.") var model: String
    @Option(help: "Worker threads for each session.") var threads = 1
    @Option(help: "Sessions running at once, each on its own thread and sharing the compiled kernels, as the gateway's workers do.")
    var sessions = 1
    @Option(help: "Timed runs (per session).") var runs = 20
    @Option(help: "Input shape, e.g. 1,1,256,256 (default: the model's declared shape).") var shape: String?
    @Flag(help: "Print per-step times to stderr after the timing.") var profile = false

    func run() async throws {
        let kernels = try CPUCheck.require()
        let url = URL(fileURLWithPath: model)
        let onnx = try ONNXModel(contentsOf: url)
        guard let first = onnx.inputs.first else { throw ValidationError("model has no inputs") }
        let dims: [Int]
        if let s = shape {
            dims = s.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        } else {
            guard first.dims.allSatisfy({ $0 != nil }) else { throw ValidationError("input \(first.name) has symbolic dims; pass --shape") }
            dims = first.dims.map { $0! }
        }
        guard sessions >= 1 else { throw ValidationError("--sessions must be at least 1") }
        let session = try InferenceSession(model: onnx, inputShapes: [first.name: dims], threads: threads)
        var all = [session]
        for _ in 1..<sessions { all.append(try InferenceSession(sharingKernelsOf: session, threads: threads)) }
        // Deterministic input in [0, 1), like a normalised grey image.
        var state: UInt32 = 12345
        let data = (0..<dims.reduce(1, *)).map { _ -> Float in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 8) / Float(1 << 24)
        }
        let feeds = [first.name: Tensor(shape: dims, data: data)]
        let timing = try Self.time(all, feeds: feeds, runs: max(1, runs))
        let times = timing.perRunMS.sorted()
        let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        func r(_ v: Double, _ p: Double = 1000) -> Double { (v * p).rounded() / p }
        let json: [String: Any] = ["model": url.lastPathComponent, "threads": threads, "sessions": sessions, "input": dims,
                                   "median_ms": r(median), "min_ms": r(times[0]), "gflop": r(session.gflop),
                                   "gflops_per_s": r(session.gflop / (median / 1000), 10),
                                   "images_per_s": r(timing.imagesPerSecond), "isa": kernels.set.rawValue, "convolutions": kernels.convolutions.rawValue,
                                   "blas_core": kernels.blasCore]
        let line = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        print(String(decoding: line, as: UTF8.self))
        if profile {
            var byKind: [String: Double] = [:]
            for step in try session.profile(feeds) {
                byKind[step.kind, default: 0] += step.ms
                let rate = step.gflop > 0 ? String(format: " %6.1f GFLOP/s", step.gflop / (step.ms / 1000)) : ""
                FileHandle.standardError.write("\(String(format: "%8.3f", step.ms)) ms  \(step.kind)  \(step.name)\(rate)\n".data(using: .utf8)!)
            }
            for (k, v) in byKind.sorted(by: { $0.value > $1.value }) {
                FileHandle.standardError.write("total \(String(format: "%8.3f", v)) ms  \(k)\n".data(using: .utf8)!)
            }
        }
    }

    /// Runs every session on its own thread, all at once: three warm-up runs each, then `runs`
    /// timed ones. Images per second is every timed run over the wall time from the common start
    /// to the last session's end: for one session, the inverse of the mean run time.
    private static func time(_ sessions: [InferenceSession], feeds: [String: Tensor], runs: Int) throws
        -> (perRunMS: [Double], imagesPerSecond: Double) {
        let results = Mutex<[Result<[Double], Error>]>([])
        let warm = DispatchGroup(), done = DispatchGroup()
        let go = DispatchSemaphore(value: 0)
        for session in sessions {
            warm.enter(); done.enter()
            let thread = Thread {
                let outcome = Result<[Double], Error> {
                    defer { warm.leave() }
                    for _ in 0..<3 { _ = try session.run(feeds) }
                    return []
                }
                if case .failure = outcome { results.withLock { $0.append(outcome) }; done.leave(); return }
                go.wait()
                let timed = Result<[Double], Error> {
                    try (0..<runs).map { _ in
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        _ = try session.run(feeds)
                        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
                    }
                }
                results.withLock { $0.append(timed) }
                done.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        warm.wait()
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in sessions { go.signal() }
        done.wait()
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let times = try results.withLock { try $0.flatMap { try $0.get() } }
        return (times, Double(times.count) / wall)
    }
}
