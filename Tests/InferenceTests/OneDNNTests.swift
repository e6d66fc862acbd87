import Foundation
import XCTest
@testable import Inference

/// The oneDNN region on its own: Winograd F(2x2,3x3) and F(4x4,3x3) pinned by name must keep
/// the parity bound against the engine's direct kernel (itself held to onnxruntime by the
/// parity fixtures), and a region's builds for several thread counts give the same outputs.
final class OneDNNTests: XCTestCase {
    private func requireOneDNN() throws {
        guard try KernelSet.active().convolutions == .oneDNN else {
            throw XCTSkip("the convolutions run the engine's own kernels in this process")
        }
    }

    /// Values in [-1, 1] that look unordered but repeat from run to run.
    private func wave(_ count: Int, _ step: Float) -> [Float] { (0..<count).map { sin(Float($0) * step) } }

    /// A 3x3 stride-1 conv with ReLU (a decoder layer's shape), fixed weights.
    private func decoderConv(c: Int, m: Int, size: Int) -> ConvSpec {
        let g = ConvGeometry(n: 1, c: c, h: size, w: size, m: m, ho: size, wo: size, kh: 3, kw: 3, sh: 1, sw: 1,
                             dh: 1, dw: 1, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, group: 1)
        let scale = 1 / Float(c * 9).squareRoot()
        let spec = ConvSpec(g, transpose: false, weightShape: [m, c, 3, 3],
                            weights: wave(m * c * 9, 0.7).map { $0 * scale }, bias: wave(m, 1.9).map { $0 * 0.1 })
        spec.activation = .relu
        return spec
    }

    private func input(_ count: Int) -> [Float] { wave(count, 1.3).map { 1.5 + 1.5 * $0 } }

    /// Runs `spec` as a one-conv region (slot 0 in, slot 1 out) with `implementation`.
    private func runRegion(_ spec: ConvSpec, _ x: [Float], implementation: String?, threads: Int = 1) throws -> [Float] {
        let g = spec.g
        let member = OneDNNRegion.Member(name: "conv", op: .conv(spec), inputs: [0], outputs: [1], implementation: implementation)
        let region = try OneDNNRegion(members: [member], inputs: [0], outputs: [1],
                                      shape: { $0 == 0 ? [1, g.c, g.h, g.w] : [1, g.m, g.ho, g.wo] }, threads: threads,
                                      tuneThreads: 2)
        var input = x
        var output = [Float](repeating: .nan, count: g.m * g.ho * g.wo)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(region.scratchBytes, 64), alignment: 64)
        defer { scratch.deallocate() }
        input.withUnsafeMutableBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                region.run([i.baseAddress!], [o.baseAddress!], scratch: scratch.bindMemory(to: Float.self, capacity: 1))
            }
        }
        return output
    }

    private func reference(_ spec: ConvSpec, _ x: [Float]) -> [Float] {
        let g = spec.g
        let kernel = ConvKernel(g, weights: spec.weights, bias: spec.bias, activation: spec.activation)
        var input = x + [Float](repeating: 0, count: 64)
        var output = [Float](repeating: 0, count: g.m * g.ho * g.wo + 64)
        var scratch = [Float](repeating: 0, count: kernel.scratchFloats(threads: 1) + 64)
        input.withUnsafeMutableBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                scratch.withUnsafeMutableBufferPointer { s in
                    kernel.run([i.baseAddress!], [o.baseAddress!], scratch: s.baseAddress!, parallel: Parallel(threads: 1))
                }
            }
        }
        return Array(output.prefix(g.m * g.ho * g.wo))
    }

    func testWinogradTilesKeepTheParityBound() throws {
        try requireOneDNN()
        guard try KernelSet.active().set == .avx512 else { throw XCTSkip("oneDNN 2.6 has Winograd for AVX-512 only") }
        // The shipped decoder's widest layers and a deep narrow one.
        for (c, m, size) in [(64, 32, 112), (32, 32, 112), (88, 48, 56), (432, 96, 14)] {
            let spec = decoderConv(c: c, m: m, size: size)
            let x = input(c * size * size)
            let want = reference(spec, x)
            var ran = 0
            for name in ["jit_fp32_wino_2x3:avx512_core", "jit_wino_4x3:avx512_core", "brgconv:avx512_core"] {
                let got: [Float]
                do { got = try runRegion(spec, x, implementation: name) } catch { continue }   // not offered for the shape
                ran += 1
                let diff = zip(got, want).map { abs($0 - $1) }.max() ?? .infinity
                if ProcessInfo.processInfo.environment["WECARE_PRINT_DIFFS"] != nil { print("winograd-parity \(name) \(c)->\(m)@\(size) \(diff)") }
                XCTAssertLessThanOrEqual(diff, 1e-4, "\(name) on \(c)->\(m) at \(size)x\(size): max abs diff \(diff)")
            }
            XCTAssertEqual(ran, 3, "\(c)->\(m) at \(size)x\(size): a kernel was not offered")
            // The timed choice is one of them and keeps the bound too.
            let chosen = try runRegion(spec, x, implementation: nil)
            XCTAssertLessThanOrEqual(zip(chosen, want).map { abs($0 - $1) }.max() ?? .infinity, 1e-4)
        }
    }

    func testAnUnknownKernelNameIsRefusedNamingIt() throws {
        try requireOneDNN()
        let spec = decoderConv(c: 16, m: 16, size: 8)
        XCTAssertThrowsError(try runRegion(spec, input(16 * 64), implementation: "no_such_kernel")) { error in
            XCTAssertTrue("\(error)".contains("oneDNN has no no_such_kernel for this convolution"), "\(error)")
        }
    }

    /// The shipped model's trunk is one region, and none of its kernels is one of oneDNN's
    /// reference (scalar) kernels, which run 10-400x slower than its JIT ones: a layout or
    /// operation oneDNN has no fast kernel for shows up here, not only in a benchmark.
    func testTheShippedModelRunsOneRegionOfJITKernels() throws {
        try requireOneDNN()
        let (ref, model, _) = try FixtureIndex.shippedModel()
        let compiled = try GraphCompiler(model: model, inputShapes: [ref.input_name: ref.shape])
        let regions = compiled.steps.compactMap { $0.kernel as? OneDNNRegionKernel }
        XCTAssertEqual(regions.count, 1, compiled.steps.map { $0.name }.joined(separator: ", "))
        let kernels = regions.first?.implementations ?? []
        XCTAssertGreaterThan(kernels.count, 58, "every conv, add, concat and up-sampling of the trunk")
        XCTAssertEqual(kernels.filter { $0.contains("ref") || $0.contains("gemm") }, [String]())
        // The conv flops of the trunk are the model's (less the class head's two Gemms).
        XCTAssertGreaterThan(regions.first?.flops ?? 0, 2.1e9)
    }

    func testBuildsForDifferentThreadCountsGiveTheSameOutputs() throws {
        try requireOneDNN()
        let spec = decoderConv(c: 48, m: 48, size: 56)
        let x = input(48 * 56 * 56)
        let one = try runRegion(spec, x, implementation: nil, threads: 1)
        let two = try runRegion(spec, x, implementation: nil, threads: 2)
        XCTAssertEqual(one, two)
    }
}
