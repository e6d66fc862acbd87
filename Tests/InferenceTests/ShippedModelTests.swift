import Foundation
import XCTest
@testable import Inference

/// The shipped model (weights/busi_unet.onnx) against onnxruntime's outputs for one fixed input.
final class ShippedModelTests: XCTestCase {
    func testShippedModelMatchesReference() throws {
        let index = try FixtureIndex.load()
        guard let ref = index.shipped else { throw XCTSkip("no shipped-model reference in the fixtures yet") }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let modelURL = root.appendingPathComponent(ref.model)
        let model = try ONNXModel(contentsOf: modelURL)
        let pixels = try Data(contentsOf: FixtureIndex.directory.appendingPathComponent(ref.input))
        XCTAssertEqual(pixels.count, ref.shape.reduce(1, *))
        let input = Tensor(shape: ref.shape, data: pixels.map { Float($0) / 255 })
        for threads in [1, 2] {
            let out = try InferenceSession(model: model, inputShapes: ["image": ref.shape], threads: threads).run(["image": input])
            let mask = try XCTUnwrap(out["mask"]), probs = try XCTUnwrap(out["class_probs"])
            XCTAssertEqual(mask.shape, ref.shape)
            XCTAssertLessThanOrEqual(maxAbsDiff(ref.mask_indices.map { mask.data[$0] }, ref.mask_values), 1e-4)
            XCTAssertLessThanOrEqual(maxAbsDiff(probs.data, ref.class_probs), 1e-4)
            // Whole-mask checksum: a mean error of 1e-5 per pixel at most.
            let sum = mask.data.reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(sum, ref.mask_sum, accuracy: 1e-5 * Double(mask.count))
        }
    }
}
