import Analysis
import DICOM
import Foundation

/// The analysis of one input image (every frame of a multi-frame one).
public struct ImageReport: Sendable {
    public var sourceName: String
    public var sopInstanceUID: String?
    public var card: ModelCard
    /// mm per pixel of the reported frame's reported view; nil: sizes in pixels.
    public var spacing: PixelSpacing?
    public var frames: [FrameFindings]
    /// Index into `frames` of the frame the report is about: the highest malignant probability.
    public var reportedIndex: Int
    public var isMultiFrame: Bool
    /// Why the calibrated region's mm per pixel were not used (implausible Physical Delta).
    public var calibrationProblem: String?

    public var reported: FrameFindings { frames[reportedIndex] }
    public var framesWithLesion: [FrameFindings] { frames.filter { !$0.lesions.isEmpty } }

    /// The spacing is the reported view's (each lesion's own is its view's).
    init(sourceName: String, sopInstanceUID: String?, card: ModelCard, frames: [FrameFindings], isMultiFrame: Bool,
         calibrationProblem: String? = nil) {
        self.calibrationProblem = calibrationProblem
        self.sourceName = sourceName
        self.sopInstanceUID = sopInstanceUID
        self.card = card
        self.frames = frames
        self.isMultiFrame = isMultiFrame
        let malignant = card.classes.firstIndex(of: "malignant") ?? (card.classes.count - 1)
        reportedIndex = frames.indices.max { frames[$0].classProbabilities[malignant] < frames[$1].classProbabilities[malignant] } ?? 0
        spacing = frames.isEmpty ? nil : frames[reportedIndex].reportedView.view.spacing
    }

    /// Whether the frames have several views (a dual view): reports then name each lesion's view.
    public var hasSeveralViews: Bool { (frames.first?.views.count ?? 1) > 1 }

    /// How reports name lesion `index` of the reported frame: "Lesion 1", or with its view
    /// ("Lesion 1, left view, ultrasound region 1") when the image has several.
    public func lesionName(_ index: Int) -> String {
        guard let view = reported.view(ofLesion: index).view.name else { return "Lesion \(index + 1)" }
        return "Lesion \(index + 1), \(view)"
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
        let probabilities = { (p: [Double]) in
            Dictionary(uniqueKeysWithValues: zip(card.classes, p.map { ($0 * 1e6).rounded() / 1e6 }))
        }
        var document = ResultDocument(
            source: sourceName, sopInstanceUID: sopInstanceUID, label: r.label,
            probabilities: probabilities(r.classProbabilities),
            mmPerPixel: spacing.map { [$0.column, $0.row] }, sizeUnits: spacing == nil ? "pixels" : "mm",
            width: r.width, height: r.height, fieldOfView: r.fieldOfView,
            frame: r.frameIndex + 1, framesAnalyzed: frames.count,
            framesWithLesion: framesWithLesion.map { $0.frameIndex + 1 },
            lesions: r.lesions.enumerated().map { i, l in
                let view = r.view(ofLesion: i).view
                return ResultDocument.Lesion(
                    areaPx: l.maskAreaPixels, areaMM2: l.measurement.areaMM2.map(Self.round2),
                    longAxisMM: l.measurement.longAxis.lengthMM.map(Self.round2),
                    shortAxisMM: l.measurement.shortAxis.lengthMM.map(Self.round2),
                    longAxisPx: Self.round2(l.measurement.longAxis.lengthPixels),
                    shortAxisPx: Self.round2(l.measurement.shortAxis.lengthPixels),
                    boundingBox: l.boundingBox, svgPath: svg.pathData(l.outline),
                    region: view.regionNumber, view: view.position, mmPerPixel: view.spacing.map { [$0.column, $0.row] })
            },
            views: r.views.map { v in
                ResultDocument.View(region: v.view.regionNumber, position: v.view.position, fieldOfView: v.fieldOfView,
                                    mmPerPixel: v.view.spacing.map { [$0.column, $0.row] }, label: v.label,
                                    probabilities: probabilities(v.classProbabilities), lesionCount: v.lesions.count)
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
        // The size of the reported view's largest lesion, else of the first found anywhere.
        let first = r.lesionViewIndices.firstIndex(of: r.reportedViewIndex) ?? (r.lesions.isEmpty ? nil : 0)
        if let i = first { text += ", " + Self.sizeText(r.lesions[i].measurement) }
        var place: [String] = []
        if let i = first, let name = r.view(ofLesion: i).view.position { place.append(name.hasPrefix("view") ? name : "\(name) view") }
        if isMultiFrame { place.append("frame \(r.frameIndex + 1)") }
        if !place.isEmpty { text += " (\(place.joined(separator: ", ")))" }
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

    /// Every frame of a DICOM instance, each calibrated 2D tissue region of the Sequence of
    /// Ultrasound Regions on its own (its field of view and mm per pixel; `AnalysisView`), the
    /// whole frame in pixels when there is none.
    public func analyze(_ instance: DICOMInstance, sourceName: String) throws -> ImageReport {
        let views = AnalysisView.views(regions: instance.ultrasoundRegions, width: instance.columns, height: instance.rows)
        var frames: [FrameFindings] = []
        for i in 0..<max(1, instance.numberOfFrames) {
            let f: GrayscaleFrame
            do { f = try instance.grayscaleFrame(i) } catch {
                throw ReportingError.unsupportedInput("frame \(i + 1) cannot be decoded: \(error)")
            }
            let gray = try GrayImage(width: f.width, height: f.height, pixels: f.pixels)
            frames.append(try frameAnalyzer.analyze(gray, frameIndex: i, views: views))
        }
        return ImageReport(sourceName: sourceName, sopInstanceUID: instance.sopInstanceUID, card: model.card,
                           frames: frames, isMultiFrame: instance.numberOfFrames > 1,
                           // An implausible calibration leaves its view in pixels; the document says why.
                           calibrationProblem: instance.calibrationProblems.first)
    }

    /// A PNG has no calibration: sizes are in pixels.
    public func analyzePNG(_ data: Data, sourceName: String) throws -> ImageReport {
        let png: PNGCodec.Image
        do { png = try PNGCodec.decodeGray(data) } catch { throw ReportingError.unreadableInput("\(error)") }
        let gray = try GrayImage(width: png.width, height: png.height, pixels: png.pixels)
        let findings = try frameAnalyzer.analyze(gray, fieldOfView: nil, spacing: nil)
        return ImageReport(sourceName: sourceName, sopInstanceUID: nil, card: model.card,
                           frames: [findings], isMultiFrame: false)
    }
}
