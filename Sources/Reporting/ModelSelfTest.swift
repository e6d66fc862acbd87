import Analysis
import Foundation

/// The model check of `wecare selftest`: the model loads, and on the phantom shipped beside it
/// (`<model>.selftest.png`, a synthetic image) it gives the result stored beside it
/// (`<model>.selftest.json`, computed by ONNX Runtime when the model was made:
/// weights/make_selftest_phantom.py). A damaged model file, a model swapped without its
/// phantom, or an engine that computes wrongly on this machine's CPU fails here, before a
/// patient's image does.
public enum ModelSelfTest {
    public enum Verdict: Sendable, Equatable {
        case passed(String)
        /// The model runs, but no phantom lies beside it to compare with.
        case unchecked(String)
        case failed(String)
    }

    /// What `<model>.selftest.json` holds.
    struct Expected: Decodable {
        var image: String
        var classes: [String]
        var probabilities: [Double]
        var label: String
        var maskPixels: Int
        enum CodingKeys: String, CodingKey {
            case image, classes, probabilities, label
            case maskPixels = "mask_pixels"
        }
    }

    /// Class probabilities may differ from ONNX Runtime's by this much (the engine agrees to
    /// about 1e-5; a wrong kernel or weight moves them by far more).
    static let probabilityTolerance = 0.005
    /// The lesion mask (after postprocessing, which drops specks and fills holes) may differ
    /// from ONNX Runtime's thresholded mask by this fraction, at least 25 pixels.
    static let maskTolerance = 0.03

    public static func phantom(besideModel model: URL) -> (image: URL, expected: URL) {
        let stem = model.deletingPathExtension()
        return (URL(fileURLWithPath: stem.path + ".selftest.png"), URL(fileURLWithPath: stem.path + ".selftest.json"))
    }

    public static func run(modelFile: URL) -> Verdict {
        guard FileManager.default.fileExists(atPath: modelFile.path) else {
            return .failed("\(modelFile.path) does not exist; install the model or fix [analysis] model")
        }
        let model: LesionModel
        let clock = ContinuousClock()
        let start = clock.now
        // The card's own threshold: the expected result was made with it, whatever [analysis] says.
        do { model = try LesionModel(modelFile: modelFile) } catch {
            return .failed("cannot load \(modelFile.lastPathComponent) (\(error)); reinstall the model file and its card")
        }
        let (imageURL, expectedURL) = phantom(besideModel: modelFile)
        guard let png = try? Data(contentsOf: imageURL), let json = try? Data(contentsOf: expectedURL) else {
            // Still run it once, so a model that loads but cannot run is caught.
            do {
                let blank = try GrayImage(width: model.card.inputWidth, height: model.card.inputHeight,
                                          pixels: [UInt8](repeating: 64, count: model.card.inputWidth * model.card.inputHeight))
                _ = try model.predict(blank)
            } catch {
                return .failed("\(modelFile.lastPathComponent) loads but cannot run (\(error)); reinstall the model file")
            }
            return .unchecked("\(model.card.name) \(model.card.version) loads and runs, but no phantom "
                + "(\(imageURL.lastPathComponent) + \(expectedURL.lastPathComponent)) lies beside it to check its results; "
                + "make them with weights/make_selftest_phantom.py")
        }
        let expected: Expected
        do { expected = try JSONDecoder().decode(Expected.self, from: json) } catch {
            return .failed("\(expectedURL.lastPathComponent) is not a phantom result (\(error)); make it again with weights/make_selftest_phantom.py")
        }
        let report: ImageReport
        do { report = try Reporter(model: model).analyzePNG(png, sourceName: imageURL.lastPathComponent) } catch {
            return .failed("the model failed on the phantom (\(error)); reinstall the model file")
        }
        let elapsed = clock.now - start
        let got = report.reported
        guard expected.classes == model.card.classes, expected.probabilities.count == got.classProbabilities.count else {
            return .failed("the phantom's result is for classes \(expected.classes), the model has \(model.card.classes): "
                + "the model was replaced without its phantom; make it again with weights/make_selftest_phantom.py")
        }
        let worst = zip(expected.probabilities, got.classProbabilities).map { abs($0 - $1) }.max() ?? 0
        let maskPixels = got.masks.mask.foregroundCount
        let maskDelta = abs(maskPixels - expected.maskPixels)
        let summary = "phantom: \(got.label) \(Self.percent(got.probability(of: got.label, classes: model.card.classes))), "
            + "lesion \(maskPixels) px (expected \(expected.label), \(expected.maskPixels) px)"
        if worst > probabilityTolerance || got.label != expected.label
            || Double(maskDelta) > max(25, maskTolerance * Double(expected.maskPixels)) {
            return .failed("\(model.card.name) \(model.card.version) gives a wrong result on the phantom (\(summary); "
                + "probabilities off by up to \(String(format: "%.4f", worst))): the model file does not match its card "
                + "and phantom, or this machine computes it wrongly; reinstall the model, then report it")
        }
        let ms = Int(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
        return .passed("\(model.card.name) \(model.card.version): \(summary), in \(ms) ms")
    }

    static func percent(_ p: Double) -> String { "\(Int((p * 100).rounded()))%" }
}
