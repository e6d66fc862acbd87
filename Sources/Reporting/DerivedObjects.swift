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
            var probabilities: [StructuredReportWriter.ImageClass: Double] = [:]
            for (name, p) in zip(card.classes, r.classProbabilities) {
                if let c = StructuredReportWriter.ImageClass(rawValue: name) { probabilities[c] = p }
            }
            let predicted = StructuredReportWriter.ImageClass(rawValue: r.label) ?? .normal
            let lesions = r.lesions.enumerated().map { (i, l) -> StructuredReportWriter.Lesion in
                let m = l.measurement
                let size: StructuredReportWriter.LesionSize
                if let a = m.areaMM2, let long = m.longAxis.lengthMM, let short = m.shortAxis.lengthMM {
                    size = .millimetres(area: a, longAxis: long, shortAxis: short)
                } else {
                    size = .pixels(area: Double(l.maskAreaPixels), longAxis: m.longAxis.lengthPixels, shortAxis: m.shortAxis.lengthPixels)
                }
                return StructuredReportWriter.Lesion(
                    trackingIdentifier: "Lesion \(i + 1)", size: size,
                    contour: openRing(l.polyline),
                    segmentationFrameNumber: segFrameOfSourceFrame[r.frameIndex])
            }
            let srIdentity = DerivedIdentity(derivedFrom: uidSource, producerVersion: producerVersion,
                                             kind: .structuredReport, seriesNumber: srSeriesNumber)
            let segReference = segIdentity.flatMap { id in
                segFrameOfSourceFrame[r.frameIndex] == nil ? nil
                    : StructuredReportWriter.SegmentationReference(seriesInstanceUID: id.seriesInstanceUID, sopInstanceUID: id.sopInstanceUID)
            }
            let sr = try StructuredReportWriter.write(.init(
                source: instance, sourceFrameNumber: report.isMultiFrame ? r.frameIndex + 1 : nil,
                identity: srIdentity, equipment: equipment, algorithm: algorithm,
                classification: .init(predicted: predicted, probabilities: probabilities),
                lesions: lesions, segmentation: segReference))

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

    /// The analysis gives closed polylines (first point repeated last); the SR writer closes rings itself.
    static func openRing(_ polyline: [Point2]) -> [PixelPoint] {
        var pts = polyline.map { PixelPoint(x: $0.x, y: $0.y) }
        if pts.count > 1, pts.first == pts.last { pts.removeLast() }
        return pts
    }
}
