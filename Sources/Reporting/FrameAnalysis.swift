import Analysis
import Foundation

/// What the model and the algorithms found in one view of a frame (source pixel coordinates).
public struct ViewFindings: Sendable {
    public var view: AnalysisView
    public var fieldOfView: PixelRect
    /// In the order of the model card's classes.
    public var classProbabilities: [Double]
    public var label: String
    /// Postprocessed source-resolution masks of this view; lesions largest first.
    public var masks: LesionMasks
    /// Measured in this view's calibration (`view.spacing`).
    public var lesions: [AnalyzedLesion]

    public func probability(of name: String, classes: [String]) -> Double {
        classes.firstIndex(of: name).map { classProbabilities[$0] } ?? 0
    }
}

/// Everything found in one frame, in source pixel coordinates. A frame of several views (a
/// dual view) is classified as its most suspicious view (the highest malignant probability,
/// the rule that picks a cine loop's frame); its lesions are every view's, each with its view.
public struct FrameFindings: Sendable {
    /// 0-based frame index in the source.
    public var frameIndex: Int
    public var width: Int
    public var height: Int
    /// Every view analysed, in the Sequence of Ultrasound Regions' order.
    public var views: [ViewFindings]
    /// Index into `views` of the view the frame's class is taken from.
    public var reportedViewIndex: Int
    /// Postprocessed source-resolution masks of all views together; lesions in `lesions` order.
    public var masks: LesionMasks
    /// Every view's lesions, view after view (largest first within a view).
    public var lesions: [AnalyzedLesion]
    /// For each of `lesions`, the index into `views` of the view it was found (and measured) in.
    public var lesionViewIndices: [Int]
    public var timingsMS: [String: Double]

    public var reportedView: ViewFindings { views[reportedViewIndex] }
    public var fieldOfView: PixelRect { reportedView.fieldOfView }
    /// In the order of the model card's classes.
    public var classProbabilities: [Double] { reportedView.classProbabilities }
    public var label: String { reportedView.label }

    /// The view lesion `index` of `lesions` was found in.
    public func view(ofLesion index: Int) -> ViewFindings { views[lesionViewIndices[index]] }

    public func probability(of name: String, classes: [String]) -> Double {
        reportedView.probability(of: name, classes: classes)
    }
}

/// One grayscale frame through the model and the image algorithms (pure, no I/O).
public struct FrameAnalyzer: Sendable {
    public let model: LesionModel

    public init(model: LesionModel) { self.model = model }

    /// `fieldOfView`: the part of the frame the model looks at (the 2D tissue region, or all of it).
    public func analyze(_ frame: GrayImage, frameIndex: Int = 0, fieldOfView: PixelRect?,
                        spacing: PixelSpacing?) throws -> FrameFindings {
        try analyze(frame, frameIndex: frameIndex,
                    views: [AnalysisView(regionNumber: nil, fieldOfView: fieldOfView, spacing: spacing)])
    }

    /// Each view through the model on its own (its field of view, its calibration), then the
    /// frame's findings from them. `views` must not be empty.
    public func analyze(_ frame: GrayImage, frameIndex: Int = 0, views: [AnalysisView]) throws -> FrameFindings {
        guard !views.isEmpty else { throw ReportingError.analysisFailed("no view of the frame to analyse") }
        var timings: [String: Double] = [:]
        var found: [ViewFindings] = []
        for view in views {
            found.append(try analyze(frame, view: view, timings: &timings))
        }
        let malignant = model.card.classes.firstIndex(of: "malignant") ?? (model.card.classes.count - 1)
        let reported = found.indices.max {
            found[$0].classProbabilities[malignant] < found[$1].classProbabilities[malignant]
        } ?? 0
        var lesions: [AnalyzedLesion] = [], owners: [Int] = []
        for (k, v) in found.enumerated() {
            lesions += v.lesions
            owners += [Int](repeating: k, count: v.lesions.count)
        }
        return FrameFindings(frameIndex: frameIndex, width: frame.width, height: frame.height, views: found,
                             reportedViewIndex: reported, masks: try LesionMasks.combining(found.map(\.masks)),
                             lesions: lesions, lesionViewIndices: owners, timingsMS: timings)
    }

    private func analyze(_ frame: GrayImage, view: AnalysisView, timings: inout [String: Double]) throws -> ViewFindings {
        let fov = view.fieldOfView ?? PixelRect(x: 0, y: 0, width: frame.width, height: frame.height)
        let spacing = view.spacing
        let clock = ContinuousClock()
        var t = clock.now
        func lap(_ name: String) {
            let now = clock.now
            let d = now - t
            timings[name, default: 0] += Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15
            t = now
        }
        let crop = try frame.cropped(to: fov)
        let prediction = try model.predict(crop)
        lap("inference")
        let card = model.card
        let minArea = Int((card.minAreaFraction * Double(fov.area)).rounded())
        let analyzer = LesionAnalyzer(postprocessor: MaskPostprocessor(threshold: Float(card.threshold),
                                                                        minimumAreaPixels: minArea))
        let (masks, lesions) = try analyzer.analyze(prediction.probabilities, fieldOfView: fov,
                                                     imageWidth: frame.width, imageHeight: frame.height,
                                                     spacing: spacing)
        lap("postprocess_trace_measure")
        return ViewFindings(view: view, fieldOfView: fov, classProbabilities: prediction.classProbabilities,
                            label: card.label(for: prediction.classProbabilities), masks: masks, lesions: lesions)
    }
}
