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
        /// Item number (1-based) of the Sequence of Ultrasound Regions region the lesion was
        /// found and measured in; null when the image has no calibrated 2D tissue region.
        public var region: Int?
        /// "left" / "right" / "top" / "bottom" / "view N" when the image has several views, else null.
        public var view: String?
        /// [x, y] mm per pixel the lesion was measured with (its region's); null: pixels only.
        public var mmPerPixel: [Double]?

        enum CodingKeys: String, CodingKey {
            case areaPx = "area_px", areaMM2 = "area_mm2", longAxisMM = "long_axis_mm", shortAxisMM = "short_axis_mm"
            case longAxisPx = "long_axis_px", shortAxisPx = "short_axis_px", boundingBox = "bounding_box"
            case svgPath = "svg_path", region, view, mmPerPixel = "mm_per_pixel"
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
            try c.encode(region, forKey: .region)
            try c.encode(view, forKey: .view)
            try c.encode(mmPerPixel, forKey: .mmPerPixel)
        }
    }

    /// One view of the reported frame, analysed on its own (a dual view has two).
    public struct View: Codable, Sendable {
        /// Item number (1-based) in the Sequence of Ultrasound Regions; null: the whole image.
        public var region: Int?
        /// "left" / "right" / "top" / "bottom" / "view N" when there are several, else null.
        public var position: String?
        public var fieldOfView: PixelRect
        public var mmPerPixel: [Double]?
        public var label: String
        public var probabilities: [String: Double]
        public var lesionCount: Int

        enum CodingKeys: String, CodingKey {
            case region, position, label, probabilities
            case fieldOfView = "field_of_view", mmPerPixel = "mm_per_pixel", lesionCount = "lesion_count"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(region, forKey: .region)
            try c.encode(position, forKey: .position)
            try c.encode(fieldOfView, forKey: .fieldOfView)
            try c.encode(mmPerPixel, forKey: .mmPerPixel)
            try c.encode(label, forKey: .label)
            try c.encode(probabilities, forKey: .probabilities)
            try c.encode(lesionCount, forKey: .lesionCount)
        }
    }

    public struct Model: Codable, Sendable {
        public var name: String
        public var version: String
    }

    public var source: String
    public var sopInstanceUID: String?
    /// The reported view's class (the most suspicious view when there are several).
    public var label: String
    public var probabilities: [String: Double]
    /// [x, y] (columns, rows) of the reported view's calibrated 2D tissue region; null means
    /// sizes are in pixels only. Each lesion carries its own region's.
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
    /// Every view of the reported frame: one per calibrated 2D tissue region (two for a dual
    /// view), or the whole image.
    public var views: [View]
    public var model: Model
    public var timingsMS: [String: Double]
    /// Why the image's calibrated region gives no mm values (Physical Delta outside the
    /// plausible range); null when it is plausible or there is none.
    public var calibrationProblem: String? = nil

    enum CodingKeys: String, CodingKey {
        case source, label, probabilities, lesions, views, model, width, height, frame
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
        try c.encode(views, forKey: .views)
        try c.encode(model, forKey: .model)
        try c.encode(timingsMS, forKey: .timingsMS)
        try c.encode(calibrationProblem, forKey: .calibrationProblem)
    }
}
