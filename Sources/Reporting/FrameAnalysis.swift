import Analysis
import Foundation

/// Everything found in one frame, in source pixel coordinates.
public struct FrameFindings: Sendable {
    /// 0-based frame index in the source.
    public var frameIndex: Int
    public var width: Int
    public var height: Int
    public var fieldOfView: PixelRect
    /// In the order of the model card's classes.
    public var classProbabilities: [Double]
    public var label: String
    /// Postprocessed source-resolution masks; lesions largest first.
    public var masks: LesionMasks
    public var lesions: [AnalyzedLesion]
    public var timingsMS: [String: Double]

    public func probability(of name: String, classes: [String]) -> Double {
        classes.firstIndex(of: name).map { classProbabilities[$0] } ?? 0
    }
}

/// One grayscale frame through the model and the image algorithms (pure, no I/O).
public struct FrameAnalyzer: Sendable {
    public let model: LesionModel

    public init(model: LesionModel) { self.model = model }

    /// `fieldOfView`: the part of the frame the model looks at (the 2D tissue region, or all of it).
    public func analyze(_ frame: GrayImage, frameIndex: Int = 0, fieldOfView: PixelRect?,
                        spacing: PixelSpacing?) throws -> FrameFindings {
        let fov = fieldOfView ?? PixelRect(x: 0, y: 0, width: frame.width, height: frame.height)
        var timings: [String: Double] = [:]
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
        let best = prediction.classProbabilities.indices.max { prediction.classProbabilities[$0] < prediction.classProbabilities[$1] } ?? 0
        return FrameFindings(frameIndex: frameIndex, width: frame.width, height: frame.height, fieldOfView: fov,
                             classProbabilities: prediction.classProbabilities, label: card.classes[best],
                             masks: masks, lesions: lesions, timingsMS: timings)
    }
}
