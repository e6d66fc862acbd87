import Foundation
import XCTest
@testable import Reporting

/// The model card says which outputs are the mask and the classes and how they become
/// probabilities (a logit model with a fitted temperature, or probabilities as they are).
final class ModelHeadsTests: XCTestCase {
    private func card(_ json: String) throws -> ModelCard {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("heads-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(json.utf8).write(to: dir.appendingPathComponent("m.json"))
        return try ModelCard.load(besideModel: dir.appendingPathComponent("m.onnx"))
    }

    private let base = """
        "name": "m", "version": "1", "file": "m.onnx", "input": {"name": "image", "shape": [1, 1, 8, 8]},
        "classes": ["normal", "benign", "malignant"], "threshold": 0.5, "min_area_fraction": 0.0
        """

    func testACardWithoutHeadsReadsProbabilityOutputs() throws {
        let c = try card("{\(base)}")
        XCTAssertEqual(c.heads, .probabilities)
        XCTAssertFalse(c.flipAverage)
    }

    func testLogitHeadsAndFlipAveragingAreRead() throws {
        let c = try card("""
            {\(base), "flip_average": true, "heads": {"mask": {"output": "mask_logits", "activation": "sigmoid"},
             "classes": {"output": "class_logits", "activation": "softmax", "temperature": 1.5}}}
            """)
        XCTAssertEqual(c.heads.mask.output, "mask_logits")
        XCTAssertEqual(c.heads.classes.temperature, 1.5)
        XCTAssertTrue(c.flipAverage)
    }

    func testUnknownActivationsAndNonPositiveTemperaturesAreRefused() {
        for heads in [#"{"mask": {"output": "a", "activation": "tanh"}, "classes": {"output": "b", "activation": "softmax"}}"#,
                      #"{"mask": {"output": "a", "activation": "sigmoid"}, "classes": {"output": "b", "activation": "softmax", "temperature": 0}}"#] {
            XCTAssertThrowsError(try card("{\(base), \"heads\": \(heads)}")) { error in
                XCTAssertTrue("\(error)".contains("heads"), "\(error)")
            }
        }
    }

    func testTemperatureSoftensTheSoftmaxAndMirroringIsItsOwnInverse() {
        let sharp = LesionModel.softmax([2, 0, -1], temperature: 1)
        let soft = LesionModel.softmax([2, 0, -1], temperature: 2)
        XCTAssertEqual(sharp.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertEqual(soft.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertEqual(sharp[0], exp(2) / (exp(2) + 1 + exp(-1)), accuracy: 1e-12)
        XCTAssertLessThan(soft[0], sharp[0])
        let row: [Float] = [1, 2, 3, 4, 5, 6]
        XCTAssertEqual(LesionModel.mirrored(row, width: 3), [3, 2, 1, 6, 5, 4])
        XCTAssertEqual(LesionModel.mirrored(LesionModel.mirrored(row, width: 2), width: 2), row)
    }

    func testTheOperatingPointCallsItsClassAtItsThresholdAndOtherwiseTheBestOfTheRest() throws {
        let c = try card("{\(base), \"operating_point\": {\"class\": \"malignant\", \"threshold\": 0.3}}")
        XCTAssertEqual(c.label(for: [0.2, 0.5, 0.3]), "malignant", "at the threshold, though not the most probable")
        XCTAssertEqual(c.label(for: [0.2, 0.51, 0.29]), "benign")
        XCTAssertEqual(c.label(for: [0.6, 0.15, 0.25]), "normal")
        let plain = try card("{\(base)}")
        XCTAssertEqual(plain.label(for: [0.2, 0.5, 0.3]), "benign", "no operating point: the most probable class")
        for bad in [#"{"class": "cancer", "threshold": 0.3}"#, #"{"class": "malignant", "threshold": 1.5}"#] {
            XCTAssertThrowsError(try card("{\(base), \"operating_point\": \(bad)}")) { error in
                XCTAssertTrue("\(error)".contains("operating_point"), "\(error)")
            }
        }
    }
}
