import Foundation
import XCTest
@testable import Reporting

/// The phantom `wecare selftest` checks the model with: its expected result is ONNX Runtime's
/// (made independently of WeCare's engine), the engine matches it, and a model without a
/// phantom is run but reported unchecked.
final class ModelSelfTestTests: XCTestCase {
    func testShippedPhantomResultIsONNXRuntimesAndTheEnginePasses() throws {
        let (image, expectedFile) = ModelSelfTest.phantom(besideModel: TestSupport.model)
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: expectedFile)) as? [String: Any])
        let reference = try TestSupport.python("reference.py", [image.path])
        let ort = try XCTUnwrap(reference["probs"] as? [Double])
        let shipped = try XCTUnwrap(expected["probabilities"] as? [Double])
        for (a, b) in zip(ort, shipped) { XCTAssertEqual(a, b, accuracy: 1e-5, "the shipped phantom result is stale") }
        guard case .passed(let detail) = ModelSelfTest.run(modelFile: TestSupport.model) else {
            return XCTFail("\(ModelSelfTest.run(modelFile: TestSupport.model))")
        }
        XCTAssertTrue(detail.contains("phantom: benign"), detail)
    }

    func testAModelWithoutPhantomRunsButIsUnchecked() throws {
        let dir = try TestSupport.tempDir()
        for ext in ["onnx", "json"] {
            try FileManager.default.copyItem(at: TestSupport.model.deletingPathExtension().appendingPathExtension(ext),
                                             to: dir.appendingPathComponent("m.\(ext)"))
        }
        guard case .unchecked(let detail) = ModelSelfTest.run(modelFile: dir.appendingPathComponent("m.onnx")) else {
            return XCTFail("\(ModelSelfTest.run(modelFile: dir.appendingPathComponent("m.onnx")))")
        }
        XCTAssertTrue(detail.contains("make_selftest_phantom.py"), detail)
    }
}
