import Foundation
import CDCMTK

/// Writes a TID 1500 Measurement Report (Comprehensive 3D SR) for one analysed ultrasound image.
///
/// Layout (all decided here, DCMTK only encodes):
/// - root "Imaging Measurement Report": language, device observer, procedure reported
///   "Ultrasonography of breast", Image Library with the source image (and frame).
/// - per lesion two TID 1410 Planar ROI groups in "Imaging Measurements":
///   1. measurements: Tracking Identifier/UID, Finding "Mass", Finding Site Breast (+ laterality),
///      Referenced Segmentation Frame (the SEG frame; Referenced Segment Number is left out since
///      the standard makes it exclusive with Referenced Frame Number and the SEG has one segment)
///      and Source image for segmentation,
///      Area, Long axis, Short axis, Probability of cancer, per-class probabilities (99WECARE),
///      Pathology (Benign / Malignant / Normal); each with Algorithm Name/Version (TID 4019).
///   2. contour: Tracking Identifier/UID, Finding "Mass", Image Region SCOORD POLYLINE (closed)
///      selected from the source image (and frame), so contour-aware viewers draw it.
/// - no lesion: one TID 1501 group with Finding "Ultrasound scan normal", the probabilities and
///   the class; no SEG reference.
/// - several views (a dual view, each ultrasound region analysed on its own): each lesion's
///   Tracking Identifier names its view and region ("Lesion 2, right view, ultrasound region 2")
///   and its groups carry its view's probabilities and class; a view without lesion gets its own
///   TID 1501 group ("Image classification, left view, ultrasound region 1").
/// Evidence: the source and the SEG (when referenced) in Current Requested Procedure Evidence.
public enum StructuredReportWriter {
    public static let comprehensive3DSRStorage = "1.2.840.10008.5.1.4.1.1.88.34"

    /// The classifier's decision for the image.
    public enum ImageClass: String, Sendable, CaseIterable {
        case normal, benign, malignant

        public var code: CodedConcept {
            switch self {
            case .normal: return .normal
            case .benign: return .benign
            case .malignant: return .malignant
            }
        }
        var probabilityConcept: CodedConcept {
            switch self {
            case .normal: return .probabilityOfNormal
            case .benign: return .probabilityOfBenign
            case .malignant: return .probabilityOfMalignant
            }
        }
    }

    public struct Classification: Sendable {
        public var predicted: ImageClass
        /// Probability 0...1 per class (softmax output).
        public var probabilities: [ImageClass: Double]
        public init(predicted: ImageClass, probabilities: [ImageClass: Double]) {
            self.predicted = predicted
            self.probabilities = probabilities
        }
    }

    /// Sizes of one lesion: in mm when the source has a calibrated ultrasound region, else in pixels.
    public enum LesionSize: Sendable {
        case millimetres(area: Double, longAxis: Double, shortAxis: Double)
        case pixels(area: Double, longAxis: Double, shortAxis: Double)
    }

    public struct Lesion: Sendable {
        public var trackingIdentifier: String
        public var size: LesionSize
        /// Outline in source pixel coordinates (open ring; the writer closes it).
        public var contour: [PixelPoint]
        /// SEG frame (1-based) that holds this lesion's mask; nil when no SEG is referenced.
        public var segmentationFrameNumber: Int?
        /// The class of the view the lesion was found in, when it is not the request's (a dual view).
        public var classification: Classification?
        public init(trackingIdentifier: String, size: LesionSize, contour: [PixelPoint], segmentationFrameNumber: Int? = 1,
                    classification: Classification? = nil) {
            self.trackingIdentifier = trackingIdentifier
            self.size = size
            self.contour = contour
            self.segmentationFrameNumber = segmentationFrameNumber
            self.classification = classification
        }
    }

    /// The class of one view without lesion, when the image has several views.
    public struct ViewClassification: Sendable {
        /// How the group is named, e.g. "Image classification, left view, ultrasound region 1".
        public var trackingIdentifier: String
        public var classification: Classification
        public init(trackingIdentifier: String, classification: Classification) {
            self.trackingIdentifier = trackingIdentifier
            self.classification = classification
        }
    }

    /// Who verified a report, and when (SR Document General Module, Verifying Observer Sequence).
    public struct Verification: Sendable {
        public var observerName: String
        public var organization: String
        public var dateTime: Date
        public init(observerName: String, organization: String, dateTime: Date) {
            self.observerName = observerName
            self.organization = organization
            self.dateTime = dateTime
        }
    }

    /// An earlier SR in the source's study (Predecessor Documents Sequence).
    public struct DocumentReference: Sendable {
        public var seriesInstanceUID: String
        public var sopInstanceUID: String
        public var sopClassUID: String = StructuredReportWriter.comprehensive3DSRStorage
        public init(seriesInstanceUID: String, sopInstanceUID: String) {
            self.seriesInstanceUID = seriesInstanceUID
            self.sopInstanceUID = sopInstanceUID
        }
    }

    /// The SEG written for the same image (same study).
    public struct SegmentationReference: Sendable {
        public var seriesInstanceUID: String
        public var sopInstanceUID: String
        public var segmentNumber: Int = SegmentationWriter.segmentNumber
        public static let sopClassUID = SegmentationWriter.segmentationStorage
        public init(seriesInstanceUID: String, sopInstanceUID: String) {
            self.seriesInstanceUID = seriesInstanceUID
            self.sopInstanceUID = sopInstanceUID
        }
    }

    public struct Request: Sendable {
        /// The source instance as opened for analysis: the writer copies from it, no second parse.
        public var source: DICOMInstance
        /// Frame reported on, for multi-frame sources (1-based); nil for single-frame ones.
        public var sourceFrameNumber: Int?
        public var identity: DerivedIdentity
        public var equipment: DerivedEquipment
        public var algorithm: AlgorithmIdentification
        public var classification: Classification
        public var lesions: [Lesion]
        public var segmentation: SegmentationReference?
        /// Views without lesion of an image with several views, each reported with its class.
        public var viewsWithoutLesion: [ViewClassification] = []
        /// Device Observer UID; by default derived from manufacturer and model.
        public var deviceObserverUID: String?
        /// A person checked and signed the content (the reading room): VERIFIED, with them as
        /// Verifying Observer. nil: UNVERIFIED (AI output).
        public var verification: Verification?
        /// The documents this one replaces (a signed revision names the AI's SR).
        public var predecessors: [DocumentReference] = []

        public init(source: DICOMInstance, sourceFrameNumber: Int? = nil, identity: DerivedIdentity, equipment: DerivedEquipment,
                    algorithm: AlgorithmIdentification, classification: Classification, lesions: [Lesion],
                    segmentation: SegmentationReference?) {
            self.source = source
            self.sourceFrameNumber = sourceFrameNumber
            self.identity = identity
            self.equipment = equipment
            self.algorithm = algorithm
            self.classification = classification
            self.lesions = lesions
            self.segmentation = segmentation
        }
    }

    /// Writes the object to a file (atomically); the gateway keeps the bytes from `write(_:)`.
    public static func write(_ request: Request, to url: URL) throws {
        try write(request).write(to: url, options: .atomic)
    }

    public static func write(_ request: Request) throws -> Data {
        let source = try SourceSummary.of(request.source)
        try validate(request, source)
        var evidence: [SegmentationReference] = []
        if let seg = request.segmentation, !request.lesions.isEmpty { evidence.append(seg) }
        return try encode(content(request, source), source: request.source, summary: source, identity: request.identity,
                          equipment: request.equipment, segmentations: evidence, completion: "COMPLETE",
                          verification: request.verification, predecessors: request.predecessors)
    }

    /// The content tree encoded by the shim, with the source (and the SEG, when referenced) as
    /// evidence.
    static func encode(_ root: SRItem, source instance: DICOMInstance, summary source: SourceSummary,
                       identity: DerivedIdentity, equipment: DerivedEquipment, segmentations: [SegmentationReference],
                       completion: String, verification: Verification? = nil,
                       predecessors: [DocumentReference] = []) throws -> Data {
        let arena = CArena()
        var nodes: [wc_sr_node] = []
        root.flatten(into: &nodes, parent: -1, arena: arena)
        var evidence = [wc_sop_ref(study_instance_uid: arena.str(source.studyInstanceUID),
                                   series_instance_uid: arena.str(source.seriesInstanceUID),
                                   sop_class_uid: arena.str(source.sopClassUID),
                                   sop_instance_uid: arena.str(source.sopInstanceUID))]
        for seg in segmentations {
            evidence.append(wc_sop_ref(study_instance_uid: arena.str(source.studyInstanceUID),
                                       series_instance_uid: arena.str(seg.seriesInstanceUID),
                                       sop_class_uid: arena.str(SegmentationReference.sopClassUID),
                                       sop_instance_uid: arena.str(seg.sopInstanceUID)))
        }
        var req = wc_sr_request()
        req.source = instance.handle
        req.ids = arena.ids(identity, equipment, laterality: nil)
        req.sop_class_uid = arena.str(comprehensive3DSRStorage)
        req.completion_flag = arena.str(completion)
        let schemes = [wc_coding_scheme(designator: arena.str(CodedConcept.privateSchemeDesignator),
                                        name: arena.str(CodedConcept.privateSchemeName),
                                        responsible_organization: arena.str("WeCare"))]
        req.schemes = arena.array(schemes)
        req.scheme_count = schemes.count
        if let v = verification {
            req.verifying_observer_name = arena.str(v.observerName)
            req.verifying_organization = arena.str(v.organization)
            req.verification_datetime = arena.str(identity.dicomDateTime(v.dateTime))
        }
        let previous = predecessors.map { p in
            wc_sop_ref(study_instance_uid: arena.str(source.studyInstanceUID), series_instance_uid: arena.str(p.seriesInstanceUID),
                       sop_class_uid: arena.str(p.sopClassUID), sop_instance_uid: arena.str(p.sopInstanceUID))
        }
        req.predecessors = arena.array(previous)
        req.predecessor_count = previous.count
        return try nodes.withUnsafeBufferPointer { nodeBuffer in
            return try evidence.withUnsafeBufferPointer { evidenceBuffer in
                req.nodes = nodeBuffer.baseAddress
                req.node_count = nodeBuffer.count
                req.evidence = evidenceBuffer.baseAddress
                req.evidence_count = evidenceBuffer.count
                return try withExtendedLifetime((arena, instance)) {
                    try encodeWithWriter { wc_write_sr(&req, $0, $1, $2) }
                }
            }
        }
    }

    static func validate(_ request: Request, _ source: SourceSummary) throws {
        if source.isMultiFrame {
            guard let f = request.sourceFrameNumber, (1...source.numberOfFrames).contains(f) else {
                throw DerivedObjectError.invalidRequest(
                    "SR: multi-frame source (\(source.numberOfFrames) frames): give sourceFrameNumber, the frame reported on")
            }
        }
        for lesion in request.lesions {
            let sizes: [Double]
            switch lesion.size {
            case .millimetres(let a, let l, let s), .pixels(let a, let l, let s): sizes = [a, l, s]
            }
            guard sizes.allSatisfy({ $0.isFinite && $0 >= 0 && $0 < 1e9 }) else {
                throw DerivedObjectError.invalidRequest("SR: lesion \(lesion.trackingIdentifier) size \(sizes) is not finite and non-negative; fix the measurement")
            }
            guard lesion.contour.allSatisfy({ $0.x.isFinite && $0.y.isFinite }) else {
                throw DerivedObjectError.invalidRequest("SR: lesion \(lesion.trackingIdentifier) contour has a non-finite point")
            }
            guard lesion.contour.count >= 3 else {
                throw DerivedObjectError.invalidRequest("SR: lesion \(lesion.trackingIdentifier) contour has \(lesion.contour.count) points; need at least 3")
            }
        }
        let classifications = [request.classification] + request.lesions.compactMap(\.classification)
            + request.viewsWithoutLesion.map(\.classification)
        for c in classifications {
            let sum = c.probabilities.values.reduce(0, +)
            guard c.probabilities.values.allSatisfy({ (0...1).contains($0) }), sum < 1.001 else {
                throw DerivedObjectError.invalidRequest("SR: class probabilities must be in 0...1 and sum to at most 1 (got sum \(sum))")
            }
        }
    }

    // MARK: - content

    static func number(_ v: Double, decimals: Int) -> String {
        // DS: at most 16 characters; fixed decimals keep what is written predictable.
        String(format: "%.\(decimals)f", v)
    }

    /// TID 1500's opening rows: language, the device observer (TID 1004), the procedure, and the
    /// Image Library with the source image.
    /// `person`: a person observer (TID 1002/1003) after the device, the radiologist who verified
    /// a signed revision; nil for AI output.
    static func documentHeader(algorithm: AlgorithmIdentification, equipment: DerivedEquipment, deviceObserverUID: String?,
                               sourceImage: SRItem.Value, person: String? = nil) -> [SRItem] {
        let observerUID = deviceObserverUID ?? DerivedUID.make(sourceSOPInstanceUID: equipment.manufacturer,
                                                               producerVersion: equipment.modelName, role: "device-observer")
        return [
            SRItem(relationship: .hasConceptMod, concept: .languageOfContent, value: .code(.englishUS)),
            SRItem(relationship: .hasObsContext, concept: .observerType, value: .code(.device)),
            SRItem(relationship: .hasObsContext, concept: .deviceObserverUID, value: .uidref(observerUID)),
            SRItem(relationship: .hasObsContext, concept: .deviceObserverName, value: .text(algorithm.name)),
            SRItem(relationship: .hasObsContext, concept: .deviceObserverManufacturer, value: .text(equipment.manufacturer)),
            SRItem(relationship: .hasObsContext, concept: .deviceObserverModelName, value: .text(equipment.modelName)),
        ] + (person.map { name in [
            SRItem(relationship: .hasObsContext, concept: .observerType, value: .code(.person)),
            SRItem(relationship: .hasObsContext, concept: .personObserverName, value: .pname(name)),
        ] } ?? []) + [
            SRItem(relationship: .hasConceptMod, concept: .procedureReported, value: .code(.ultrasonographyOfBreast)),
            .container(.contains, .imageLibrary, [
                .container(.contains, .imageLibraryGroup, [SRItem(relationship: .contains, concept: nil, value: sourceImage)]),
            ]),
        ]
    }

    static func content(_ r: Request, _ source: SourceSummary) -> SRItem {
        let frames = source.isMultiFrame ? [r.sourceFrameNumber ?? 1] : []
        let sourceImage = SRItem.Value.image(sopClassUID: source.sopClassUID, sopInstanceUID: source.sopInstanceUID,
                                             frames: frames, segments: [])
        var items = documentHeader(algorithm: r.algorithm, equipment: r.equipment, deviceObserverUID: r.deviceObserverUID,
                                   sourceImage: sourceImage, person: r.verification?.observerName)
        var groups: [SRItem] = []
        let algorithm = [
            SRItem(relationship: .hasConceptMod, concept: .algorithmName, value: .text(r.algorithm.name)),
            SRItem(relationship: .hasConceptMod, concept: .algorithmVersion, value: .text(r.algorithm.version)),
        ]
        func num(_ concept: CodedConcept, _ value: String, _ unit: CodedConcept) -> SRItem {
            SRItem(relationship: .contains, concept: concept, value: .num(value, unit: unit), children: algorithm)
        }
        func probabilities(_ c: Classification) -> [SRItem] {
            [num(.probabilityOfCancer, number(100 * (c.probabilities[.malignant] ?? 0), decimals: 1), .percent)]
                + ImageClass.allCases.compactMap { k in
                    c.probabilities[k].map { num(k.probabilityConcept, number(100 * $0, decimals: 1), .percent) }
                }
        }
        func pathology(_ c: Classification) -> SRItem {
            SRItem(relationship: .contains, concept: .pathology, value: .code(c.predicted.code), children: algorithm)
        }
        var site = SRItem(relationship: .hasConceptMod, concept: .findingSite, value: .code(.breast))
        if let lat = source.laterality {
            site.children = [SRItem(relationship: .hasConceptMod, concept: .laterality, value: .code(lat == "R" ? .right : .left))]
        }
        let finding = SRItem(relationship: .contains, concept: .finding, value: .code(.mass))

        for (i, lesion) in r.lesions.enumerated() {
            func tracking(_ id: String, _ role: String) -> [SRItem] {
                [SRItem(relationship: .hasObsContext, concept: .trackingIdentifier, value: .text(id)),
                 SRItem(relationship: .hasObsContext, concept: .trackingUniqueIdentifier,
                        value: .uidref(DerivedUID.make(sourceSOPInstanceUID: source.sopInstanceUID,
                                                       producerVersion: r.algorithm.version, role: role)))]
            }
            var measured = tracking(lesion.trackingIdentifier, DerivedUID.Role.lesionTracking(i + 1)) + [finding, site]
            if let seg = r.segmentation, let segFrame = lesion.segmentationFrameNumber {
                measured.append(SRItem(relationship: .contains, concept: .referencedSegmentationFrame,
                                       value: .image(sopClassUID: SegmentationReference.sopClassUID,
                                                     sopInstanceUID: seg.sopInstanceUID, frames: [segFrame],
                                                     segments: [])))
                measured.append(SRItem(relationship: .contains, concept: .sourceImageForSegmentation, value: sourceImage))
            }
            switch lesion.size {
            case .millimetres(let area, let long, let short):
                measured += [num(.area, number(area, decimals: 2), .squareMillimetre),
                             num(.longAxis, number(long, decimals: 2), .millimetre),
                             num(.shortAxis, number(short, decimals: 2), .millimetre)]
            case .pixels(let area, let long, let short):
                measured += [num(.area, number(area, decimals: 1), .squarePixel),
                             num(.longAxis, number(long, decimals: 2), .pixel),
                             num(.shortAxis, number(short, decimals: 2), .pixel)]
            }
            let classification = lesion.classification ?? r.classification
            measured += probabilities(classification) + [pathology(classification)]
            groups.append(.container(.contains, .measurementGroup, template: "1410", measured))

            var ring = lesion.contour
            if ring.first != ring.last, let first = ring.first { ring.append(first) }
            let region = SRItem(relationship: .contains, concept: .imageRegion, value: .scoordPolyline(ring),
                                children: [SRItem(relationship: .selectedFrom, concept: nil, value: sourceImage)])
            groups.append(.container(.contains, .measurementGroup, template: "1410",
                                     tracking("\(lesion.trackingIdentifier) outline", DerivedUID.Role.lesionContourTracking(i + 1))
                                         + [finding, site, region]))
        }
        func classificationGroup(_ name: String, _ c: Classification, role: String) -> SRItem {
            let rows = [SRItem(relationship: .hasObsContext, concept: .trackingIdentifier, value: .text(name)),
                        SRItem(relationship: .hasObsContext, concept: .trackingUniqueIdentifier,
                               value: .uidref(DerivedUID.make(sourceSOPInstanceUID: source.sopInstanceUID,
                                                              producerVersion: r.algorithm.version, role: role))),
                        SRItem(relationship: .contains, concept: .finding, value: .code(.ultrasoundScanNormal)),
                        site]
            return .container(.contains, .measurementGroup, template: "1501", rows + probabilities(c) + [pathology(c)])
        }
        if r.lesions.isEmpty && r.viewsWithoutLesion.isEmpty {
            groups.append(classificationGroup("Image classification", r.classification, role: "sr.image"))
        }
        for (k, view) in r.viewsWithoutLesion.enumerated() {
            groups.append(classificationGroup(view.trackingIdentifier, view.classification, role: "sr.image.view.\(k + 1)"))
        }
        items.append(.container(.contains, .imagingMeasurements, groups))
        return .container(.root, .imagingMeasurementReport, template: "1500", items)
    }
}
