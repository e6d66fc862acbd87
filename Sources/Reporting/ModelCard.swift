import Foundation

/// What the Swift side must know about a shipped model, read from the JSON beside the ONNX file
/// (`weights/busi_unet.json`): names, classes, input size and the postprocessing chosen by CV.
public struct ModelCard: Codable, Sendable, Equatable {
    public struct Input: Codable, Sendable, Equatable {
        public var name: String
        public var shape: [Int]
    }

    /// Which network output is the lesion mask and which the class scores, and what turns each
    /// into probabilities. Absent: outputs `mask` and `class_probs`, probabilities already.
    public struct Heads: Codable, Sendable, Equatable {
        public struct Head: Codable, Sendable, Equatable {
            public var output: String
            /// "sigmoid" (mask), "softmax" (classes) or "none".
            public var activation: String
            /// Class logits are divided by it before the softmax (fitted on out-of-fold predictions).
            public var temperature: Double?
        }
        public var mask: Head
        public var classes: Head

        public static let probabilities = Heads(mask: Head(output: "mask", activation: "none"),
                                                classes: Head(output: "class_probs", activation: "none"))
    }

    public var name: String
    public var version: String
    public var file: String
    public var input: Input
    public var classes: [String]
    public var threshold: Double
    public var minAreaFraction: Double
    public var heads: Heads
    /// Run the network on the image and on its mirror image, and average the outputs.
    public var flipAverage: Bool
    /// A class called whenever its probability reaches `threshold` (malignant, at the threshold
    /// cross-validation found for the sensitivity wanted); otherwise the most probable of the
    /// others. Absent: the most probable class.
    public var operatingPoint: OperatingPoint?
    /// When present, the class probabilities come from this regression over the logits and the
    /// mask, in place of the classes head's softmax.
    public var classStacker: ClassStacker?

    public struct OperatingPoint: Codable, Sendable, Equatable {
        public var `class`: String
        public var threshold: Double
    }

    enum CodingKeys: String, CodingKey {
        case name, version, file, input, classes, threshold, heads
        case minAreaFraction = "min_area_fraction"
        case flipAverage = "flip_average"
        case operatingPoint = "operating_point"
        case classStacker = "class_stacker"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        version = try c.decode(String.self, forKey: .version)
        file = try c.decode(String.self, forKey: .file)
        input = try c.decode(Input.self, forKey: .input)
        classes = try c.decode([String].self, forKey: .classes)
        threshold = try c.decode(Double.self, forKey: .threshold)
        minAreaFraction = try c.decode(Double.self, forKey: .minAreaFraction)
        heads = try c.decodeIfPresent(Heads.self, forKey: .heads) ?? .probabilities
        flipAverage = try c.decodeIfPresent(Bool.self, forKey: .flipAverage) ?? false
        operatingPoint = try c.decodeIfPresent(OperatingPoint.self, forKey: .operatingPoint)
        classStacker = try c.decodeIfPresent(ClassStacker.self, forKey: .classStacker)
    }

    /// The class reported for these probabilities (in `classes` order): the operating point's
    /// class when its probability reaches the threshold, else the most probable other class.
    public func label(for probabilities: [Double]) -> String {
        let called = operatingPoint.flatMap { op in classes.firstIndex(of: op.class).map { (index: $0, threshold: op.threshold) } }
        if let called, probabilities[called.index] >= called.threshold { return classes[called.index] }
        let candidates = probabilities.indices.filter { $0 != called?.index }
        let best = candidates.max { probabilities[$0] < probabilities[$1] } ?? 0
        return classes[best]
    }

    public var inputWidth: Int { input.shape.last ?? 256 }
    public var inputHeight: Int { input.shape.count >= 2 ? input.shape[input.shape.count - 2] : 256 }

    /// Reads `<model>.json` beside `modelFile` (e.g. busi_unet.onnx -> busi_unet.json).
    public static func load(besideModel modelFile: URL) throws -> ModelCard {
        let cardURL = modelFile.deletingPathExtension().appendingPathExtension("json")
        let data: Data
        do { data = try Data(contentsOf: cardURL) } catch {
            throw ReportingError.modelCardMissing(cardURL.path)
        }
        do {
            let card = try JSONDecoder().decode(ModelCard.self, from: data)
            guard card.classes.count >= 2, card.input.shape.count == 4 else {
                throw ReportingError.modelCardInvalid(cardURL.path, "needs >= 2 classes and a 4-D input shape")
            }
            if let op = card.operatingPoint, !card.classes.contains(op.class) || !(0...1).contains(op.threshold) {
                throw ReportingError.modelCardInvalid(
                    cardURL.path, "operating_point: class '\(op.class)' must be one of \(card.classes) and its threshold in 0...1")
            }
            guard ["sigmoid", "none"].contains(card.heads.mask.activation),
                  ["softmax", "none"].contains(card.heads.classes.activation),
                  (card.heads.classes.temperature ?? 1) > 0 else {
                throw ReportingError.modelCardInvalid(
                    cardURL.path, "heads: the mask's activation must be sigmoid or none, the classes' softmax or none, "
                        + "and a temperature positive")
            }
            if let stacker = card.classStacker {
                if let problem = stacker.problem(classes: card.classes) {
                    throw ReportingError.modelCardInvalid(cardURL.path, "class_stacker: \(problem)")
                }
                if card.heads.mask.activation != "sigmoid" || card.heads.classes.activation != "softmax" {
                    throw ReportingError.modelCardInvalid(
                        cardURL.path, "class_stacker reads class logits and mask logits: the heads must be softmax and sigmoid")
                }
            }
            return card
        } catch let e as ReportingError { throw e } catch {
            throw ReportingError.modelCardInvalid(cardURL.path, "\(error)")
        }
    }
}
