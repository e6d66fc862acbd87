import Analysis
import DICOM
import Foundation

/// The presentation state's content: every lesion's outline on the reported frame, the reported
/// view's largest with the caption (class, probability, size), the others with their own size
/// (and their view, for a dual view).
enum PresentationStateBuilder {
    /// nil for an image without lesion: there is nothing to draw.
    static func write(_ report: ImageReport, instance: DICOMInstance, identity: DerivedIdentity,
                      equipment: DerivedEquipment) throws -> Data? {
        let r = report.reported
        guard !r.lesions.isEmpty else { return nil }
        // The caption goes with the lesion it gives the size of (the reported view's largest).
        let captioned = r.lesionViewIndices.firstIndex(of: r.reportedViewIndex) ?? 0
        let annotations = r.lesions.enumerated().map { (i, l) in
            PresentationStateWriter.Annotation(contour: DerivedObjectsBuilder.openRing(l.polyline),
                                               text: i == captioned ? report.caption()
                                                   : "\(report.lesionName(i)): \(ImageReport.sizeText(l.measurement))")
        }
        return try PresentationStateWriter.write(.init(source: instance,
                                                       sourceFrameNumber: report.isMultiFrame ? r.frameIndex + 1 : nil,
                                                       identity: identity, equipment: equipment, annotations: annotations))
    }
}
