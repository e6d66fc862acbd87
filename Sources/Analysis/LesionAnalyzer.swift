/// The whole analysis of one image's segmentation output, for the reporting layer:
/// model-resolution probabilities -> source-resolution lesions, each traced, flattened
/// and measured, largest first.
public struct AnalyzedLesion: Sendable {
    /// 1-based, 1 = largest; equals the label in `LesionMasks.labels`.
    public let label: Int
    /// Pixel count of the lesion's mask at source resolution.
    public let maskAreaPixels: Int
    public let boundingBox: PixelRect
    /// Outline (and holes) in source pixels.
    public let outline: TracedComponent
    /// Closed polyline of the outer boundary in source pixels (first point repeated last).
    public let polyline: [Point2]
    public let measurement: LesionMeasurement
}

public struct LesionAnalyzer: Sendable {
    public var postprocessor: MaskPostprocessor
    public var tracer: PotraceTracer
    /// Max distance (px) of the polyline from the traced curve.
    public var polylineDeviation: Double

    public init(postprocessor: MaskPostprocessor = MaskPostprocessor(), tracer: PotraceTracer = PotraceTracer(),
                polylineDeviation: Double = 0.25) {
        self.postprocessor = postprocessor; self.tracer = tracer; self.polylineDeviation = polylineDeviation
    }

    /// `probabilities`: the model output (e.g. 256x256) for the field of view `fov` of a
    /// `imageWidth` x `imageHeight` source image. Upsampled bilinearly into the field of
    /// view, then thresholded and cleaned at source resolution.
    public func analyze(_ probabilities: ProbabilityMap, fieldOfView fov: PixelRect,
                        imageWidth: Int, imageHeight: Int,
                        spacing: PixelSpacing?) throws -> (masks: LesionMasks, lesions: [AnalyzedLesion]) {
        try analyze(postprocessor.run(probabilities, placedIn: fov, canvasWidth: imageWidth, canvasHeight: imageHeight),
                    spacing: spacing)
    }

    /// Traces and measures already postprocessed lesions.
    public func analyze(_ masks: LesionMasks, spacing: PixelSpacing?) throws -> (masks: LesionMasks, lesions: [AnalyzedLesion]) {
        let lesions = try masks.lesions.map { lesion -> AnalyzedLesion in
            let traced = try tracer.trace(masks.mask(of: lesion), region: lesion.boundingBox)
            // One 8-connected lesion gives one outer path with the default turn policy;
            // other policies may split it: keep the largest piece as its outline.
            guard let outline = traced.first else { throw AnalysisError.nothingTraced(lesion: lesion.label) }
            return AnalyzedLesion(label: lesion.label, maskAreaPixels: lesion.areaPixels, boundingBox: lesion.boundingBox,
                                  outline: outline, polyline: outline.outer.polyline(maxDeviation: polylineDeviation),
                                  measurement: LesionMeasurement.measure(outline, spacing: spacing))
        }
        return (masks, lesions)
    }
}
