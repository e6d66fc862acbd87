import Analysis
import Foundation

/// `result.json`: the analysis of one input, for folder destinations, `wecare analyze` and HTTP.
public struct ResultDocument: Codable, Sendable {
    public struct Lesion: Codable, Sendable {
        public var areaPx: Int
        public var areaMM2: Double?
        public var longAxisMM: Double?
        public var shortAxisMM: Double?
        public var longAxisPx: Double
        public var shortAxisPx: Double
        public var boundingBox: PixelRect
        public var svgPath: String

        enum CodingKeys: String, CodingKey {
            case areaPx = "area_px", areaMM2 = "area_mm2", longAxisMM = "long_axis_mm", shortAxisMM = "short_axis_mm"
            case longAxisPx = "long_axis_px", shortAxisPx = "short_axis_px", boundingBox = "bounding_box"
            case svgPath = "svg_path"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(areaPx, forKey: .areaPx)
            try c.encode(areaMM2, forKey: .areaMM2)
            try c.encode(longAxisMM, forKey: .longAxisMM)
            try c.encode(shortAxisMM, forKey: .shortAxisMM)
            try c.encode(longAxisPx, forKey: .longAxisPx)
            try c.encode(shortAxisPx, forKey: .shortAxisPx)
            try c.encode(boundingBox, forKey: .boundingBox)
            try c.encode(svgPath, forKey: .svgPath)
        }
    }

    public struct Model: Codable, Sendable {
        public var name: String
        public var version: String
    }

    public var source: String
    public var sopInstanceUID: String?
    public var label: String
    public var probabilities: [String: Double]
    /// [x, y] (columns, rows) from a calibrated 2D tissue region; null means sizes are in pixels only.
    public var mmPerPixel: [Double]?
    public var sizeUnits: String
    public var width: Int
    public var height: Int
    public var fieldOfView: PixelRect
    /// 1-based frame the report is about (multi-frame: the one with the highest malignant probability).
    public var frame: Int
    public var framesAnalyzed: Int
    public var framesWithLesion: [Int]
    public var lesions: [Lesion]
    public var model: Model
    public var timingsMS: [String: Double]
    /// Why the image's calibrated region gives no mm values (Physical Delta outside the
    /// plausible range); null when it is plausible or there is none.
    public var calibrationProblem: String? = nil

    enum CodingKeys: String, CodingKey {
        case source, label, probabilities, lesions, model, width, height, frame
        case sopInstanceUID = "sop_instance_uid", mmPerPixel = "mm_per_pixel", sizeUnits = "size_units"
        case fieldOfView = "field_of_view", framesAnalyzed = "frames_analyzed", framesWithLesion = "frames_with_lesion"
        case timingsMS = "timings_ms", calibrationProblem = "calibration_problem"
    }

    public func encoded() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(self)
    }

    /// Explicit so that absent values appear as null, as the documented schema says.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(source, forKey: .source)
        try c.encode(sopInstanceUID, forKey: .sopInstanceUID)
        try c.encode(label, forKey: .label)
        try c.encode(probabilities, forKey: .probabilities)
        try c.encode(mmPerPixel, forKey: .mmPerPixel)
        try c.encode(sizeUnits, forKey: .sizeUnits)
        try c.encode(width, forKey: .width)
        try c.encode(height, forKey: .height)
        try c.encode(fieldOfView, forKey: .fieldOfView)
        try c.encode(frame, forKey: .frame)
        try c.encode(framesAnalyzed, forKey: .framesAnalyzed)
        try c.encode(framesWithLesion, forKey: .framesWithLesion)
        try c.encode(lesions, forKey: .lesions)
        try c.encode(model, forKey: .model)
        try c.encode(timingsMS, forKey: .timingsMS)
        try c.encode(calibrationProblem, forKey: .calibrationProblem)
    }
}
