import ArgumentParser
import Dispatch
import Foundation
import Inference

/// `wecare bench`: times the Swift engine on one model; prints one JSON line.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Time the ONNX engine on a model (median of --runs, after warm-up).")

    @Option(help: "ONNX model file.") var model: String
    @Option(help: "Worker threads for the session.") var threads = 1
    @Option(help: "Timed runs.") var runs = 20
    @Option(help: "Input shape, e.g. 1,1,256,256 (default: the model's declared shape).") var shape: String?
    @Flag(help: "Print per-step times to stderr after the timing.") var profile = false

    func run() async throws {
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
        let session = try InferenceSession(model: onnx, inputShapes: [first.name: dims], threads: threads)
        // Deterministic input in [0, 1), like a normalised grey image.
        var state: UInt32 = 12345
        let data = (0..<dims.reduce(1, *)).map { _ -> Float in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 8) / Float(1 << 24)
        }
        let feeds = [first.name: Tensor(shape: dims, data: data)]
        for _ in 0..<3 { _ = try session.run(feeds) }
        var times: [Double] = []
        for _ in 0..<max(1, runs) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try session.run(feeds)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        times.sort()
        let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        func r(_ v: Double, _ p: Double = 1000) -> Double { (v * p).rounded() / p }
        let json: [String: Any] = ["model": url.lastPathComponent, "threads": threads, "input": dims,
                                   "median_ms": r(median), "min_ms": r(times[0]), "gflop": r(session.gflop),
                                   "gflops_per_s": r(session.gflop / (median / 1000), 10)]
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
}
