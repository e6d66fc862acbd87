import Analysis
import DICOM
import Foundation

/// The analysis of one input image (every frame of a multi-frame one).
public struct ImageReport: Sendable {
    public var sourceName: String
    public var sopInstanceUID: String?
    public var card: ModelCard
    public var spacing: PixelSpacing?
    public var frames: [FrameFindings]
    /// Index into `frames` of the frame the report is about: the highest malignant probability.
    public var reportedIndex: Int
    public var isMultiFrame: Bool
    /// Why the calibrated region's mm per pixel were not used (implausible Physical Delta).
    public var calibrationProblem: String?

    public var reported: FrameFindings { frames[reportedIndex] }
    public var framesWithLesion: [FrameFindings] { frames.filter { !$0.lesions.isEmpty } }

    init(sourceName: String, sopInstanceUID: String?, card: ModelCard, spacing: PixelSpacing?,
         frames: [FrameFindings], isMultiFrame: Bool, calibrationProblem: String? = nil) {
        self.calibrationProblem = calibrationProblem
        self.sourceName = sourceName
        self.sopInstanceUID = sopInstanceUID
        self.card = card
        self.spacing = spacing
        self.frames = frames
        self.isMultiFrame = isMultiFrame
        let malignant = card.classes.firstIndex(of: "malignant") ?? (card.classes.count - 1)
        reportedIndex = frames.indices.max { frames[$0].classProbabilities[malignant] < frames[$1].classProbabilities[malignant] } ?? 0
    }

    /// The reported frame's lesion masks as an 8-bit PNG (255 = lesion), source size.
    public func maskPNG() throws -> Data {
        let r = reported
        return try PNGCodec.encodeGray(width: r.width, height: r.height, pixels: r.masks.mask.bits.map { $0 == 0 ? 0 : 255 })
    }

    /// The reported frame's lesions as an SVG overlay in source pixels.
    public func svg() -> String {
        SVGRenderer().document(reported.lesions.map(\.outline), width: reported.width, height: reported.height)
    }

    public func resultDocument() -> ResultDocument {
        let r = reported
        let svg = SVGRenderer()
        var timings: [String: Double] = [:]
        for f in frames { for (k, v) in f.timingsMS { timings[k, default: 0] += v } }
        var document = ResultDocument(
            source: sourceName, sopInstanceUID: sopInstanceUID, label: r.label,
            probabilities: Dictionary(uniqueKeysWithValues: zip(card.classes, r.classProbabilities.map { ($0 * 1e6).rounded() / 1e6 })),
            mmPerPixel: spacing.map { [$0.column, $0.row] }, sizeUnits: spacing == nil ? "pixels" : "mm",
            width: r.width, height: r.height, fieldOfView: r.fieldOfView,
            frame: r.frameIndex + 1, framesAnalyzed: frames.count,
            framesWithLesion: framesWithLesion.map { $0.frameIndex + 1 },
            lesions: r.lesions.map { l in
                ResultDocument.Lesion(areaPx: l.maskAreaPixels, areaMM2: l.measurement.areaMM2.map(Self.round2),
                                      longAxisMM: l.measurement.longAxis.lengthMM.map(Self.round2),
                                      shortAxisMM: l.measurement.shortAxis.lengthMM.map(Self.round2),
                                      longAxisPx: Self.round2(l.measurement.longAxis.lengthPixels),
                                      shortAxisPx: Self.round2(l.measurement.shortAxis.lengthPixels),
                                      boundingBox: l.boundingBox, svgPath: svg.pathData(l.outline))
            },
            model: .init(name: card.name, version: card.version), timingsMS: timings.mapValues(Self.round2))
        document.calibrationProblem = calibrationProblem
        return document
    }

    /// The presentation-state caption, e.g. "WeCare AI: malignant 87%, 16.2 x 11.4 mm".
    public func caption() -> String {
        let r = reported
        let p = Int((r.probability(of: r.label, classes: card.classes) * 100).rounded())
        var text = "WeCare AI: \(r.label) \(p)%"
        if let l = r.lesions.first { text += ", " + Self.sizeText(l.measurement) }
        if isMultiFrame { text += " (frame \(r.frameIndex + 1))" }
        return text
    }

    /// "16.2 x 11.4 mm" when calibrated, else "62 x 44 px".
    static func sizeText(_ m: LesionMeasurement) -> String {
        if let a = m.longAxis.lengthMM, let b = m.shortAxis.lengthMM { return String(format: "%.1f x %.1f mm", a, b) }
        return String(format: "%.0f x %.0f px", m.longAxis.lengthPixels, m.shortAxis.lengthPixels)
    }

    static func round2(_ v: Double) -> Double { (v * 100).rounded() / 100 }
}

/// Reads an input (DICOM instance or PNG) and analyses it with the model.
public struct Reporter: Sendable {
    public let model: LesionModel
    public var frameAnalyzer: FrameAnalyzer { FrameAnalyzer(model: model) }
    /// The checks a DICOM input passes before it is parsed or decoded (size ceiling from
    /// `[analysis] max_image_megasamples`).
    public var validator: InstanceValidator

    public init(model: LesionModel, validator: InstanceValidator = InstanceValidator()) {
        self.model = model
        self.validator = validator
    }

    /// Runs `body` (one image's analysis and outputs) as one job at work in the model's thread
    /// budget, so other jobs' inference steps know to leave it its share of the cores.
    public func asOneJob<T>(_ body: () throws -> T) rethrows -> T {
        guard let budget = model.budget else { return try body() }
        return try budget.working(body)
    }

    /// Every frame of a DICOM instance; the field of view and mm per pixel come from the
    /// calibrated 2D tissue region of the Sequence of Ultrasound Regions when there is one.
    public func analyze(_ instance: DICOMInstance, sourceName: String) throws -> ImageReport {
        let region = instance.primaryTissueRegion
        var fov: PixelRect? = nil
        if let r = region {
            let x0 = max(0, r.minX0), y0 = max(0, r.minY0)
            let x1 = min(instance.columns - 1, r.maxX1), y1 = min(instance.rows - 1, r.maxY1)
            // A region too small to hold a lesion is a header error: fall back to the whole image.
            if x1 - x0 >= 31, y1 - y0 >= 31 { fov = PixelRect(x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1) }
        }
        // nil also for an implausible calibration: sizes are then reported in pixels, and why.
        let spacing = region?.millimetresPerPixel.map { PixelSpacing(row: $0.y, column: $0.x) }
        var frames: [FrameFindings] = []
        for i in 0..<max(1, instance.numberOfFrames) {
            let f: GrayscaleFrame
            do { f = try instance.grayscaleFrame(i) } catch {
                throw ReportingError.unsupportedInput("frame \(i + 1) cannot be decoded: \(error)")
            }
            let gray = try GrayImage(width: f.width, height: f.height, pixels: f.pixels)
            frames.append(try frameAnalyzer.analyze(gray, frameIndex: i, fieldOfView: fov, spacing: fov == nil ? nil : spacing))
        }
        return ImageReport(sourceName: sourceName, sopInstanceUID: instance.sopInstanceUID, card: model.card,
                           spacing: fov == nil ? nil : spacing, frames: frames, isMultiFrame: instance.numberOfFrames > 1,
                           calibrationProblem: region?.calibrationProblem)
    }

    /// A PNG has no calibration: sizes are in pixels.
    public func analyzePNG(_ data: Data, sourceName: String) throws -> ImageReport {
        let png: PNGCodec.Image
        do { png = try PNGCodec.decodeGray(data) } catch { throw ReportingError.unreadableInput("\(error)") }
        let gray = try GrayImage(width: png.width, height: png.height, pixels: png.pixels)
        let findings = try frameAnalyzer.analyze(gray, fieldOfView: nil, spacing: nil)
        return ImageReport(sourceName: sourceName, sopInstanceUID: nil, card: model.card, spacing: nil,
                           frames: [findings], isMultiFrame: false)
    }
}
