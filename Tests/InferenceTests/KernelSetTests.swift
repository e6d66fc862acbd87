import Foundation
import XCTest
@testable import Inference

/// The kernel set is chosen from the CPU's flags; WECARE_ISA forces a lower one; the parity
/// fixtures pass under every set this machine can run (each in a process of its own, as the
/// set is chosen once per process).
final class KernelSetTests: XCTestCase {
    private let skylake: Set<String> = ["sse2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]

    func testTheBestSetTheFlagsAllowIsChosen() throws {
        XCTAssertEqual(try KernelSet.choose(flags: skylake, forced: nil), .avx512)
        XCTAssertEqual(try KernelSet.choose(flags: ["avx", "avx2", "fma"], forced: nil), .avx2)
        XCTAssertEqual(try KernelSet.choose(flags: skylake.subtracting(["avx512bw"]), forced: nil), .avx2,
                       "AVX-512 without BW (Knights Landing) runs the AVX2 set")
        XCTAssertEqual(KernelSet.available(flags: nil), KernelSet.allCases, "flags unknown: nothing is ruled out")
    }

    func testWECARE_ISAForcesALowerSetAndIsRefusedWhereTheCPULacksIt() throws {
        XCTAssertEqual(try KernelSet.choose(flags: skylake, forced: "avx2"), .avx2)
        XCTAssertEqual(try KernelSet.choose(flags: skylake, forced: "avx2+fma"), .avx2)
        XCTAssertThrowsError(try KernelSet.choose(flags: ["avx2", "fma"], forced: "avx512")) { error in
            XCTAssertTrue("\(error)".contains("WECARE_ISA=avx512 asks for kernels this CPU cannot run (it lacks avx512f, avx512bw"),
                          "\(error)")
        }
        XCTAssertThrowsError(try KernelSet.choose(flags: skylake, forced: "sse9")) { error in
            XCTAssertTrue("\(error)".contains("WECARE_ISA=sse9 names no kernel set; use one of [\"avx512\", \"avx2+fma\"]"), "\(error)")
        }
        XCTAssertThrowsError(try ConvolutionBackend.choose(forced: "mkl")) { error in
            XCTAssertTrue("\(error)".contains("WECARE_CONVOLUTIONS=mkl names no convolution backend; use one of [\"onednn\", \"own\"]"), "\(error)")
        }
        XCTAssertEqual(try ConvolutionBackend.choose(forced: nil), .oneDNN)
        XCTAssertEqual(try ConvolutionBackend.choose(forced: "own"), .own)
        XCTAssertThrowsError(try KernelSet.choose(flags: ["sse2", "avx"], forced: nil)) { error in
            XCTAssertTrue("\(error)".hasPrefix("this CPU lacks avx2, fma"), "\(error)")
        }
    }

    /// This process's set: what WECARE_ISA asks, else the best of the CPU; OpenBLAS runs its kernels.
    func testTheActiveSetIsTheOneAskedForAndOpenBLASRunsIt() throws {
        let active = try KernelSet.active()
        let env = ProcessInfo.processInfo.environment
        if let forced = env["WECARE_ISA"] {
            XCTAssertEqual(active.set, try KernelSet.choose(flags: KernelSet.cpuFlags(), forced: forced))
        } else {
            XCTAssertEqual(active.set, KernelSet.available(flags: KernelSet.cpuFlags()).first)
        }
        if env["OPENBLAS_CORETYPE"] == nil {
            XCTAssertEqual(active.blasCore, active.set.blasCore)
        }
        // oneDNN under either set unless the engine's own kernels are asked for.
        XCTAssertEqual(active.convolutions.rawValue, env["WECARE_CONVOLUTIONS"] ?? "onednn")
    }

    /// Runs this test bundle again for every other set the CPU can run (WECARE_ISA) and with
    /// the engine's own convolutions under each set (WECARE_CONVOLUTIONS=own): the parity
    /// fixtures and the active-set check above must pass there too.
    func testParityFixturesPassUnderEveryKernelSetThisCPURuns() throws {
        let parent = ProcessInfo.processInfo.environment
        guard parent["WECARE_ISA"] == nil, parent["WECARE_CONVOLUTIONS"] == nil else { return } // the child runs
        let bundle = CommandLine.arguments[0]
        guard bundle.hasSuffix(".xctest") else { throw XCTSkip("not run from an xctest bundle (\(bundle))") }
        let active = try KernelSet.active()
        var children: [[String: String]] = []
        for set in KernelSet.available(flags: KernelSet.cpuFlags()) {
            for backend in ConvolutionBackend.allCases where set != active.set || backend != active.convolutions {
                children.append(["WECARE_ISA": set.rawValue, "WECARE_CONVOLUTIONS": backend.rawValue])
            }
        }
        for variables in children {
            let set = variables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: bundle)
            process.arguments = [["InferenceTests.ParityTests", "InferenceTests.ShippedModelTests",
                                  "InferenceTests.KernelSetTests/testTheActiveSetIsTheOneAskedForAndOpenBLASRunsIt"].joined(separator: ",")]
            var env = parent.merging(variables) { $1 }
            env.removeValue(forKey: "OPENBLAS_CORETYPE")
            process.environment = env
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "under \(set):\n\(output.suffix(4000))")
            for test in ["ParityTests.testAllFixturesMatchOnnxRuntime", "ShippedModelTests.testShippedModelMatchesReference",
                         "KernelSetTests.testTheActiveSetIsTheOneAskedForAndOpenBLASRunsIt"] {
                XCTAssertTrue(output.contains("\(test)' passed"), "\(test) ran under \(set):\n\(output.suffix(4000))")
            }
        }
    }
}
