import Foundation

/// Writes the report that answers an image WeCare could not analyse (undecodable, or
/// quarantined after its analysis killed a worker): a TID 1500 document with the usual
/// observer context and the source in its Image Library, and instead of measurements one
/// Qualitative Evaluations comment "AI analysis unavailable: <why>". Completion Flag PARTIAL,
/// so a reader sees at once that no result is in it; the algorithm and its version are named.
public enum UnavailableReportWriter {
    public struct Request: Sendable {
        public var source: DICOMInstance
        public var identity: DerivedIdentity
        public var equipment: DerivedEquipment
        public var algorithm: AlgorithmIdentification
        /// Why there is no result, in words for a radiologist (no PHI, no UIDs).
        public var reason: String

        public init(source: DICOMInstance, identity: DerivedIdentity, equipment: DerivedEquipment,
                    algorithm: AlgorithmIdentification, reason: String) {
            self.source = source
            self.identity = identity
            self.equipment = equipment
            self.algorithm = algorithm
            self.reason = reason
        }
    }

    /// The text value: UT allows long text, but a reader's list shows the first line.
    static let maxReasonLength = 1024

    public static func write(_ request: Request) throws -> Data {
        let source = try SourceSummary.of(request.source)
        let frames = source.isMultiFrame ? [1] : []
        let sourceImage = SRItem.Value.image(sopClassUID: source.sopClassUID, sopInstanceUID: source.sopInstanceUID,
                                             frames: frames, segments: [])
        var reason = request.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        if reason.isEmpty { reason = "no reason was recorded" }
        if reason.count > maxReasonLength { reason = String(reason.prefix(maxReasonLength)) + "..." }
        let algorithm = [
            SRItem(relationship: .hasConceptMod, concept: .algorithmName, value: .text(request.algorithm.name)),
            SRItem(relationship: .hasConceptMod, concept: .algorithmVersion, value: .text(request.algorithm.version)),
        ]
        var items = StructuredReportWriter.documentHeader(algorithm: request.algorithm, equipment: request.equipment,
                                                          deviceObserverUID: nil, sourceImage: sourceImage)
        items.append(.container(.contains, .qualitativeEvaluations, [
            SRItem(relationship: .contains, concept: .comment, value: .text("AI analysis unavailable: \(reason)"),
                   children: algorithm),
        ]))
        let root = SRItem.container(.root, .imagingMeasurementReport, template: "1500", items)
        return try StructuredReportWriter.encode(root, source: request.source, summary: source, identity: request.identity,
                                                 equipment: request.equipment, segmentations: [], completion: "PARTIAL")
    }
}
