import Analysis
import DICOM
import Foundation

/// The DICOM objects derived from one analysed instance. The decisions live here (which frames,
/// which UIDs, what the caption says); the writers in the DICOM module encode them.
public struct DerivedObjects: Sendable {
    public var segmentation: Data?
    public var segmentationUID: String?
    public var report: Data
    public var reportUID: String
    public var presentationState: Data?
    public var presentationStateUID: String?
}

public enum DerivedObjectsBuilder {
    /// Series numbers of the derived series, high so they sort after the modality's.
    static let segSeriesNumber = 9901, srSeriesNumber = 9902, prSeriesNumber = 9903

    /// `producerVersion` (model name + version) enters every derived UID, so a resend of the same
    /// source with the same model replaces, and a new model makes new objects.
    public static func build(_ report: ImageReport, instance: DICOMInstance, producerVersion: String) throws -> DerivedObjects {
        let card = report.card
        let equipment = DerivedEquipment(softwareVersions: producerVersion)
        let algorithm = AlgorithmIdentification(name: card.name, version: card.version)
        let uidSource = instance.sopInstanceUID
        do {
            // SEG: only frames with lesion; none at all for a normal image.
            var seg: Data?
            var segIdentity: DerivedIdentity?
            var segFrameOfSourceFrame: [Int: Int] = [:]
            let lesionFrames = report.framesWithLesion
            if !lesionFrames.isEmpty {
                let identity = DerivedIdentity(derivedFrom: uidSource, producerVersion: producerVersion,
                                               kind: .segmentation, seriesNumber: segSeriesNumber)
                let frames = lesionFrames.map { f in
                    SegmentationWriter.Frame(mask: f.masks.mask.bits, sourceFrameNumber: report.isMultiFrame ? f.frameIndex + 1 : nil)
                }
                for (k, f) in lesionFrames.enumerated() { segFrameOfSourceFrame[f.frameIndex] = k + 1 }
                seg = try SegmentationWriter.write(.init(source: instance, identity: identity, equipment: equipment,
                                                         algorithm: algorithm, frames: frames))
                segIdentity = identity
            }

            let r = report.reported
            let several = report.hasSeveralViews
            let lesions = r.lesions.enumerated().map { (i, l) -> StructuredReportWriter.Lesion in
                let m = l.measurement
                let size: StructuredReportWriter.LesionSize
                if let a = m.areaMM2, let long = m.longAxis.lengthMM, let short = m.shortAxis.lengthMM {
                    size = .millimetres(area: a, longAxis: long, shortAxis: short)
                } else {
                    size = .pixels(area: Double(l.maskAreaPixels), longAxis: m.longAxis.lengthPixels, shortAxis: m.shortAxis.lengthPixels)
                }
                return StructuredReportWriter.Lesion(
                    trackingIdentifier: report.lesionName(i), size: size,
                    contour: openRing(l.polyline),
                    segmentationFrameNumber: segFrameOfSourceFrame[r.frameIndex],
                    classification: several ? classification(r.view(ofLesion: i), card) : nil)
            }
            let srIdentity = DerivedIdentity(derivedFrom: uidSource, producerVersion: producerVersion,
                                             kind: .structuredReport, seriesNumber: srSeriesNumber)
            let segReference = segIdentity.flatMap { id in
                segFrameOfSourceFrame[r.frameIndex] == nil ? nil
                    : StructuredReportWriter.SegmentationReference(seriesInstanceUID: id.seriesInstanceUID, sopInstanceUID: id.sopInstanceUID)
            }
            var request = StructuredReportWriter.Request(
                source: instance, sourceFrameNumber: report.isMultiFrame ? r.frameIndex + 1 : nil,
                identity: srIdentity, equipment: equipment, algorithm: algorithm,
                classification: classification(r.reportedView, card), lesions: lesions, segmentation: segReference)
            if several {
                request.viewsWithoutLesion = r.views.filter { $0.lesions.isEmpty }.map { v in
                    .init(trackingIdentifier: "Image classification, \(v.view.name ?? "whole image")",
                          classification: classification(v, card))
                }
            }
            let sr = try StructuredReportWriter.write(request)

            let prIdentity = DerivedIdentity(derivedFrom: uidSource, producerVersion: producerVersion,
                                             kind: .presentationState, seriesNumber: prSeriesNumber)
            let pr = try PresentationStateBuilder.write(report, instance: instance, identity: prIdentity, equipment: equipment)
            return DerivedObjects(segmentation: seg, segmentationUID: segIdentity?.sopInstanceUID,
                                  report: sr, reportUID: srIdentity.sopInstanceUID,
                                  presentationState: pr, presentationStateUID: prIdentity.sopInstanceUID)
        } catch let e as DerivedObjectError {
            switch e {
            case .toolkit, .missingICCProfile: throw ReportingError.writerFailed(e.description)
            case .invalidRequest, .unusableSource: throw ReportingError.analysisFailed(e.description)
            }
        }
    }

    /// A view's class and probabilities as the SR states them.
    static func classification(_ v: ViewFindings, _ card: ModelCard) -> StructuredReportWriter.Classification {
        var probabilities: [StructuredReportWriter.ImageClass: Double] = [:]
        for (name, p) in zip(card.classes, v.classProbabilities) {
            if let c = StructuredReportWriter.ImageClass(rawValue: name) { probabilities[c] = p }
        }
        return .init(predicted: StructuredReportWriter.ImageClass(rawValue: v.label) ?? .normal, probabilities: probabilities)
    }

    /// The analysis gives closed polylines (first point repeated last); the SR writer closes rings itself.
    static func openRing(_ polyline: [Point2]) -> [PixelPoint] {
        var pts = polyline.map { PixelPoint(x: $0.x, y: $0.y) }
        if pts.count > 1, pts.first == pts.last { pts.removeLast() }
        return pts
    }
}
