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

    private func stacker(features: [String] = ClassStacker.featureNames, weights: [[Double]]? = nil) -> String {
        let w = weights ?? Array(repeating: [0.0, 0.0, 0.0], count: features.count)
        let names = features.map { "\"\($0)\"" }.joined(separator: ", ")
        let rows = w.map { "[\($0.map { String($0) }.joined(separator: ", "))]" }.joined(separator: ", ")
        let ones = Array(repeating: "1", count: features.count).joined(separator: ", ")
        let zeros = Array(repeating: "0", count: features.count).joined(separator: ", ")
        return """
            {\(base), "heads": {"mask": {"output": "m", "activation": "sigmoid"}, "classes": {"output": "c", "activation": "softmax"}},
             "class_stacker": {"features": [\(names)], "mean": [\(zeros)], "sd": [\(ones)], "weights": [\(rows)],
             "bias": [0, 0, 0], "temperature": 1, "mask_threshold": 0.4, "min_area_fraction": 0.25}}
            """
    }

    func testTheClassStackersFeaturesAreTheTrainingScriptsAtModelResolution() throws {
        let c = try card(stacker())
        let s = try XCTUnwrap(c.classStacker)
        // 8 pixels, 2 at or above 0.4: fraction 0.25 reaches min_area_fraction.
        let row = s.featureRow(logits: [1, 2, 6], maskProbabilities: [0.1, 0.4, 0.9, 0.2, 0, 0, 0.39, 0.3])
        let expected: [Double] = [-2, -1, 3, 0.5, Double(Float(0.9)), 1]
        for (a, b) in zip(row, expected) { XCTAssertEqual(a, b, accuracy: 1e-9) }
        let below = s.featureRow(logits: [0, 0, 0], maskProbabilities: [0.5, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(below[3], (0.125).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(below[5], 0, "1 pixel in 8 is under the minimum area: no mask")
    }

    func testTheClassStackerReadsTheMaskBesideTheLogits() throws {
        // Weight only on has_mask: +2 for benign, -2 for normal.
        var w = Array(repeating: [0.0, 0.0, 0.0], count: 6)
        w[5] = [-2, 2, 0]
        let s = try XCTUnwrap(try card(stacker(weights: w)).classStacker)
        let logits: [Double] = [1, 0.5, 0]
        let withMask = s.probabilities(logits: logits, maskProbabilities: [0.9, 0.9, 0.9, 0, 0, 0, 0, 0])
        let without = s.probabilities(logits: logits, maskProbabilities: Array(repeating: 0.1, count: 8))
        XCTAssertEqual(withMask.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertEqual(withMask[1], exp(2) / (exp(2) + exp(-2) + 1), accuracy: 1e-12)
        XCTAssertEqual(without, [1.0 / 3, 1.0 / 3, 1.0 / 3], "no mask, and the logits weigh nothing here: no evidence either way")
        XCTAssertGreaterThan(withMask[1], 0.8, "the same logits with a mask: benign")
    }

    func testAClassStackerForOtherFeaturesOrShapesIsRefusedAtLoad() {
        let reordered = ["logit_benign", "logit_normal", "logit_malignant", "sqrt_mask_fraction", "max_probability", "has_mask"]
        for json in [stacker(features: reordered), stacker(weights: Array(repeating: [0.0, 0.0], count: 6))] {
            XCTAssertThrowsError(try card(json)) { error in
                XCTAssertTrue("\(error)".contains("class_stacker"), "\(error)")
            }
        }
    }
}
