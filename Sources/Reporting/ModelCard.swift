import Foundation

/// What the Swift side must know about a shipped model, read from the JSON beside the ONNX file
/// (`weights/busi_unet.json`): names, classes, input size and the postprocessing chosen by CV.
public struct ModelCard: Codable, Sendable, Equatable {
    public struct Input: Codable, Sendable, Equatable {
        public var name: String
        public var shape: [Int]
    }

    public var name: String
    public var version: String
    public var file: String
    public var input: Input
    public var classes: [String]
    public var threshold: Double
    public var minAreaFraction: Double

    enum CodingKeys: String, CodingKey {
        case name, version, file, input, classes, threshold
        case minAreaFraction = "min_area_fraction"
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
            return card
        } catch let e as ReportingError { throw e } catch {
            throw ReportingError.modelCardInvalid(cardURL.path, "\(error)")
        }
    }
}
