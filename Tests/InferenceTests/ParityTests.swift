import Foundation
import XCTest
@testable import Inference

/// Every fixture graph must match onnxruntime within 1e-4, at 1 and 3 threads.
final class ParityTests: XCTestCase {
    func testAllFixturesMatchOnnxRuntime() throws {
        let index = try FixtureIndex.load()
        XCTAssertGreaterThan(index.cases.count, 40, "fixture index looks truncated; rerun make_fixtures.py")
        for c in index.cases {
            let model = try ONNXModel(contentsOf: FixtureIndex.directory.appendingPathComponent(c.model))
            let (inputs, expected) = try c.tensors()
            for threads in [1, 3] {
                let session: InferenceSession
                do { session = try InferenceSession(model: model, threads: threads) } catch {
                    XCTFail("\(c.name): load failed: \(error)"); continue
                }
                let outputs = try session.run(inputs)
                for (name, want) in expected {
                    guard let got = outputs[name] else { XCTFail("\(c.name): no output \(name)"); continue }
                    XCTAssertEqual(got.shape, want.shape, "\(c.name).\(name) shape")
                    guard got.shape == want.shape else { continue }
                    let d = maxAbsDiff(got.data, want.data)
                    XCTAssertLessThanOrEqual(d, 1e-4, "\(c.name).\(name) at \(threads) threads: max abs diff \(d)")
                }
                // A second run on the same planned buffers must give the same answer.
                let again = try session.run(inputs)
                for (name, t) in outputs { XCTAssertEqual(again[name], t, "\(c.name).\(name): second run differs") }
            }
        }
    }

    /// The fusions the parity cases are there to check must actually happen, or parity proves
    /// nothing about them. The engine's own kernels (the AVX2 set, or WECARE_CONVOLUTIONS=own,
    /// which KernelSetTests runs in a child): up-samplings and Concats vanish into the convs, and
    /// the first conv of the chain into the second. oneDNN: every run of convs, adds, Concats and
    /// nearest up-samplings becomes one region, BatchNorm and activations inside it.
    func testFixturesExerciseTheFusions() throws {
        let index = try FixtureIndex.load()
        let expected: [String: [String]]
        switch try KernelSet.active().convolutions {
        case .own:
            expected = [
                "upsample_concat_conv_fused": ["Conv_5:ConvKernel", "Conv_8:ConvKernel"],
                "conv_chain_fused": ["Conv_2:ConvKernel", "MaxPool_4:PoolKernel", "Conv_5:ConvKernel", "Conv_6:ConvKernel"],
                // Lite0: Clip(0, 6) and BatchNormalization vanish into the depthwise and 1x1 convs,
                // and the depthwise convs run their own kernel.
                "lite_dw5x5_s1_clip6": ["Conv_0:DepthwiseConvKernel"],
                "lite_inverted_residual": ["Conv_expand:ConvKernel", "Conv_dw:DepthwiseConvKernel", "Conv_project:ConvKernel", "Add_residual:BinaryKernel"],
            ]
        case .oneDNN:
            expected = [
                // ConvTranspose stays with the engine; the Concat and convs after it go to oneDNN.
                "upsample_concat_conv_fused": ["ConvTranspose_0:ConvTransposeKernel", "oneDNN[Concat_2 ... Conv_5]:OneDNNRegionKernel",
                                               "ConvTranspose_6:ConvTransposeKernel", "oneDNN[Concat_7 ... Conv_8]:OneDNNRegionKernel"],
                "conv_chain_fused": ["oneDNN[Conv_0 ... Conv_2]:OneDNNRegionKernel", "MaxPool_4:PoolKernel", "oneDNN[Conv_5 ... Conv_6]:OneDNNRegionKernel"],
                "lite_dw5x5_s1_clip6": ["oneDNN[Conv_0]:OneDNNRegionKernel"],
                "lite_inverted_residual": ["oneDNN[Conv_expand ... Add_residual]:OneDNNRegionKernel"],
            ]
        }
        for (name, steps) in expected {
            guard let c = index.cases.first(where: { $0.name == name }) else { XCTFail("no fixture \(name)"); continue }
            let session = try InferenceSession(model: ONNXModel(contentsOf: FixtureIndex.directory.appendingPathComponent(c.model)))
            let got = try session.profile(c.tensors().inputs).map { "\($0.name):\($0.kind)" }
            XCTAssertEqual(got, steps, name)
        }
    }

    func testUnsupportedGraphsAreRefusedAtLoadNamingTheNode() throws {
        let index = try FixtureIndex.load()
        XCTAssertFalse(index.refusals.isEmpty)
        for r in index.refusals {
            do {
                let model = try ONNXModel(contentsOf: FixtureIndex.directory.appendingPathComponent(r.model))
                _ = try InferenceSession(model: model)
                XCTFail("\(r.name): loaded, but must be refused")
            } catch let e as InferenceError {
                guard case .unsupported = e else { XCTFail("\(r.name): wrong error kind \(e)"); continue }
                XCTAssertTrue(e.description.contains(r.error_contains), "\(r.name): \"\(e)\" lacks \(r.error_contains)")
            }
        }
    }

    func testSessionReportsShapesAndFlops() throws {
        let model = try ONNXModel(contentsOf: FixtureIndex.directory.appendingPathComponent("unet_small.onnx"))
        let session = try InferenceSession(model: model, inputShapes: ["image": [1, 1, 48, 40]], threads: 2)
        XCTAssertEqual(session.inputs.map(\.name), ["image"])
        XCTAssertEqual(session.outputs.map(\.name), ["mask", "class_probs"])
        XCTAssertEqual(session.outputs.map(\.shape), [[1, 1, 48, 40], [1, 3]])
        // First conv alone: 1->4 channels 3x3 over 48x40 = 2*4*9*1920 flops; the total must exceed it.
        XCTAssertGreaterThan(session.gflop, 2.0 * 4 * 9 * 1920 / 1e9)
    }
}
