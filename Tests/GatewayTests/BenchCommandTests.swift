import Foundation
import XCTest

/// `wecare bench` as a process: the inference-only peer of the pipeline benchmark.
final class BenchCommandTests: XCTestCase {
    let model = EndToEndTests.root.appendingPathComponent("weights/busi_unet.onnx").path

    func bench(_ arguments: [String]) throws -> (status: Int32, json: [String: Any]?, output: String) {
        let result = try Tools.run(try WeCareBinary.url().path, ["bench", "--model", model] + arguments)
        let last = result.output.split(separator: "\n").last.map(String.init) ?? ""
        let json = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
        return (result.status, json, result.output)
    }

    /// The gateway's configuration: two sessions at once on shared kernels, each timed.
    func testConcurrentSessionsReportTheirCombinedRate() throws {
        let run = try bench(["--sessions", "2", "--runs", "2"])
        XCTAssertEqual(run.status, 0, run.output)
        let json = try XCTUnwrap(run.json, run.output)
        XCTAssertEqual(json["sessions"] as? Int, 2)
        let best = Self.cpuFlags.contains("avx512bw") && Self.cpuFlags.contains("avx512vl") ? "avx512" : "avx2+fma"
        XCTAssertEqual(json["isa"] as? String, best, "the best kernel set this CPU runs")
        XCTAssertEqual(json["blas_core"] as? String, best == "avx512" ? "SkylakeX" : "Haswell", "OpenBLAS loaded with that set's kernels")
        XCTAssertEqual(json["convolutions"] as? String, "onednn", "oneDNN runs the convolution trunk")
        let median = try XCTUnwrap(json["median_ms"] as? Double)
        let rate = try XCTUnwrap(json["images_per_s"] as? Double)
        XCTAssertGreaterThan(median, 0)
        // Four timed images; each session ran two of them one after the other, so the wall time
        // is at least twice the fastest run and the rate at most two images per fastest run.
        XCTAssertGreaterThan(rate, 0)
        XCTAssertLessThanOrEqual(rate, 2 * 1000 / (json["min_ms"] as? Double ?? 1) + 1e-6)
    }

    static let cpuFlags: Set<String> = {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        return Set(line.split(separator: " ").map(String.init))
    }()

    /// WECARE_ISA forces a lower set: the AVX2 path is measured and tested on an AVX-512 host.
    func testWECARE_ISAForcesALowerSetAndRefusesOneTheCPULacks() throws {
        let env = ProcessInfo.processInfo.environment.filter { $0.key != "OPENBLAS_CORETYPE" }
        let forced = try Tools.run(try WeCareBinary.url().path, ["bench", "--model", model, "--runs", "1"],
                                   environment: env.merging(["WECARE_ISA": "avx2"]) { $1 })
        XCTAssertEqual(forced.status, 0, forced.output)
        XCTAssertTrue(forced.output.contains(#""isa":"avx2+fma""#), forced.output)
        XCTAssertTrue(forced.output.contains(#""blas_core":"Haswell""#), forced.output)
        XCTAssertTrue(forced.output.contains(#""convolutions":"onednn""#), forced.output)
        let dir = try Tools.temporaryDirectory("cpuinfo")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cpuinfo = dir.appendingPathComponent("cpuinfo")
        try "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n".write(to: cpuinfo, atomically: true, encoding: .utf8)
        let refused = try Tools.run(try WeCareBinary.url().path, ["bench", "--model", model, "--runs", "1"],
                                    environment: env.merging(["WECARE_ISA": "avx512", "WECARE_CPUINFO": cpuinfo.path]) { $1 })
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.contains("WECARE_ISA=avx512 asks for kernels this CPU cannot run (it lacks avx512f"), refused.output)
    }

    func testZeroSessionsIsRefused() throws {
        let run = try bench(["--sessions", "0", "--runs", "1"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.output.contains("--sessions must be at least 1"), run.output)
    }

    /// On a CPU without AVX2 and FMA the engine's kernels would die of an illegal instruction:
    /// the commands that run a model say so first (here a cpuinfo without them stands in).
    func testACPUWithoutAVX2IsToldNotCrashedOn() throws {
        let dir = try Tools.temporaryDirectory("cpuinfo")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cpuinfo = dir.appendingPathComponent("cpuinfo")
        try "processor\t: 0\nflags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx\n".write(to: cpuinfo, atomically: true, encoding: .utf8)
        let process = try Tools.start(try WeCareBinary.url().path, ["bench", "--model", model, "--runs", "1"],
                                      environment: ProcessInfo.processInfo.environment.merging(["WECARE_CPUINFO": cpuinfo.path]) { $1 })
        process.process.waitUntilExit()
        XCTAssertEqual(process.process.terminationReason, .exit, "exits, not killed by a signal")
        XCTAssertNotEqual(process.process.terminationStatus, 0)
        XCTAssertTrue(process.output().contains("this CPU lacks avx2, fma"), process.output())
    }
}
