import Foundation
import CDCMTK

/// Writes a binary Segmentation (SEG) with one segment "Mass" over a 2D ultrasound source image.
///
/// Pixels are 1:1 with the source (no Frame of Reference; each frame's Derivation Image FG names
/// its source image and, for multi-frame sources, its source frame). Only frames with lesion
/// pixels are written. Patient, study and laterality come from the source file.
public enum SegmentationWriter {
    /// The segment number of the single segment (used by the SR's Referenced Segmentation Frame).
    public static let segmentNumber = 1
    public static let segmentationStorage = "1.2.840.10008.5.1.4.1.1.66.4"

    /// One SEG frame: a rows x columns mask of the source frame (0 = background, else lesion).
    public struct Frame: Sendable {
        public var mask: [UInt8]
        /// 1-based frame of a multi-frame source; nil for single-frame sources.
        public var sourceFrameNumber: Int?
        public init(mask: [UInt8], sourceFrameNumber: Int? = nil) {
            self.mask = mask
            self.sourceFrameNumber = sourceFrameNumber
        }
    }

    public struct Request: Sendable {
        /// The source instance as opened for analysis: the writer copies from it, no second parse.
        public var source: DICOMInstance
        public var identity: DerivedIdentity
        public var equipment: DerivedEquipment
        public var algorithm: AlgorithmIdentification
        public var frames: [Frame]
        public var segmentLabel = "Mass"
        /// Content Label (CS: upper case, digits, space, underscore; 16 characters at most).
        public var contentLabel = "WECARE_SEG"
        public var contentDescription = "AI segmentation of breast lesion"
        /// Adds a shared Plane Orientation 1\0\0\0\1\0 (OHIF refuses binary SEGs without one).
        public var planeOrientationForOHIF = false
        /// Content Creator's Name (PN): the radiologist who signed a revised segmentation; nil for AI output.
        public var contentCreator: String?
        /// Segment Algorithm Type: "AUTOMATIC" (nil) for AI output, "SEMIAUTOMATIC" for an
        /// AI outline a person corrected and signed.
        public var algorithmType: String?

        public init(source: DICOMInstance, identity: DerivedIdentity, equipment: DerivedEquipment,
                    algorithm: AlgorithmIdentification, frames: [Frame]) {
            self.source = source
            self.identity = identity
            self.equipment = equipment
            self.algorithm = algorithm
            self.frames = frames
        }
    }

    /// Writes the object to a file (atomically); the gateway keeps the bytes from `write(_:)`.
    public static func write(_ request: Request, to url: URL) throws {
        try write(request).write(to: url, options: .atomic)
    }

    public static func write(_ request: Request) throws -> Data {
        let source = try SourceSummary.of(request.source)
        try validate(request, source)
        let arena = CArena()
        var req = wc_seg_request()
        req.source = request.source.handle
        req.ids = arena.ids(request.identity, request.equipment, laterality: nil)
        req.content_label = arena.str(request.contentLabel)
        req.content_description = arena.str(request.contentDescription)
        req.content_creator = arena.str(request.contentCreator)
        req.algorithm_type = arena.str(request.algorithmType)
        req.segment_label = arena.str(request.segmentLabel)
        req.category = arena.code(.morphologicallyAbnormalStructure)
        req.type = arena.code(.mass)
        req.anatomy = arena.code(.breast)
        req.anatomy_modifier = arena.code(source.laterality == "R" ? .right : source.laterality == "L" ? .left : nil)
        req.algorithm_name = arena.str(request.algorithm.name)
        req.algorithm_version = arena.str(request.algorithm.version)
        req.algorithm_family = arena.code(.artificialIntelligence)
        req.derivation_description = arena.str("Automatic segmentation by \(request.algorithm.name) \(request.algorithm.version)")
        req.rows = UInt16(source.rows)
        req.columns = UInt16(source.columns)
        req.frame_count = UInt32(request.frames.count)
        // The frames' masks side by side, copied once into memory the arena frees.
        let pixels = source.rows * source.columns
        let masks = arena.buffer(UInt8.self, count: pixels * request.frames.count)
        for (i, frame) in request.frames.enumerated() {
            frame.mask.withUnsafeBufferPointer { (masks + i * pixels).initialize(from: $0.baseAddress!, count: pixels) }
        }
        req.masks = UnsafePointer(masks)
        req.source_frame_numbers = source.isMultiFrame
            ? arena.array(request.frames.map { Int32($0.sourceFrameNumber ?? 1) }) : nil
        req.dimension_organization_uid = arena.str(DerivedUID.make(
            sourceSOPInstanceUID: request.identity.sopInstanceUID, producerVersion: request.algorithm.version,
            role: DerivedUID.Role.segmentationDimensionOrganization))
        req.patient_orientation = nil  // copied from the source (empty when it has none)
        req.shared_plane_orientation = request.planeOrientationForOHIF ? 1 : 0
        if let lossy = source.lossyCompression {
            req.lossy_flag = 1
            req.lossy_ratio = arena.str(lossy.ratio)
            req.lossy_method = arena.str(lossy.method)
        }
        return try withExtendedLifetime((arena, request.source)) {
            try encodeWithWriter { wc_write_seg(&req, $0, $1, $2) }
        }
    }

    static func validate(_ request: Request, _ source: SourceSummary) throws {
        guard !request.frames.isEmpty else {
            throw DerivedObjectError.invalidRequest("SEG has no frames; write no SEG for an image without lesion")
        }
        guard source.rows <= Int(UInt16.max), source.columns <= Int(UInt16.max) else {
            throw DerivedObjectError.unusableSource("source is \(source.columns) x \(source.rows), larger than a SEG frame can be")
        }
        let pixels = source.rows * source.columns
        var seen = Set<Int>()
        for (i, frame) in request.frames.enumerated() {
            guard frame.mask.count == pixels else {
                throw DerivedObjectError.invalidRequest(
                    "SEG frame \(i + 1) has \(frame.mask.count) mask pixels; the source is \(source.columns) x \(source.rows) = \(pixels): pass masks at source resolution")
            }
            guard frame.mask.contains(where: { $0 != 0 }) else {
                throw DerivedObjectError.invalidRequest("SEG frame \(i + 1) has no lesion pixels; leave empty frames out")
            }
            if source.isMultiFrame {
                guard let n = frame.sourceFrameNumber, (1...source.numberOfFrames).contains(n) else {
                    throw DerivedObjectError.invalidRequest(
                        "SEG frame \(i + 1): source has \(source.numberOfFrames) frames; give sourceFrameNumber in 1...\(source.numberOfFrames)")
                }
                guard seen.insert(n).inserted else {
                    throw DerivedObjectError.invalidRequest("SEG: source frame \(n) given twice; merge its masks (one segment)")
                }
            } else if let n = frame.sourceFrameNumber, n != 1 {
                throw DerivedObjectError.invalidRequest("SEG frame \(i + 1) names source frame \(n) but the source has one frame")
            } else if request.frames.count > 1 {
                throw DerivedObjectError.invalidRequest("SEG: single-frame source but \(request.frames.count) frames given; merge them")
            }
        }
    }
}
