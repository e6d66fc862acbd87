import Foundation
import CDCMTK

/// Writes a presentation state that outlines the lesions on the source image: a Grayscale
/// Softcopy Presentation State for MONOCHROME sources, a Color Softcopy Presentation State (with
/// an sRGB ICC profile) for RGB / YBR / PALETTE COLOR sources. One graphic layer holds, per lesion,
/// a closed POLYLINE in PIXEL units and a text object.
public enum PresentationStateWriter {
    public static let grayscaleSoftcopyPresentationStateStorage = "1.2.840.10008.5.1.4.1.1.11.1"
    public static let colorSoftcopyPresentationStateStorage = "1.2.840.10008.5.1.4.1.1.11.2"

    /// Where Debian's `icc-profiles-free` and ghostscript put an sRGB profile.
    public static let sRGBProfileCandidates = [
        "/usr/share/color/icc/sRGB.icc", "/usr/share/color/icc/ghostscript/srgb.icc",
        "/usr/share/color/icc/colord/sRGB.icc",
    ]

    public struct Annotation: Sendable {
        /// Lesion outline in source pixel coordinates (open ring; the writer closes it).
        public var contour: [PixelPoint]
        /// Text shown next to the outline (see `label(...)`).
        public var text: String
        public init(contour: [PixelPoint], text: String) {
            self.contour = contour
            self.text = text
        }
    }

    public struct Request: Sendable {
        /// The source instance as opened for analysis: the writer copies from it, no second parse.
        public var source: DICOMInstance
        /// Frame annotated, for multi-frame sources (1-based); nil for single-frame ones.
        public var sourceFrameNumber: Int?
        public var identity: DerivedIdentity
        public var equipment: DerivedEquipment
        public var annotations: [Annotation]
        /// Content Label (CS: upper case, digits, space, underscore; 16 characters at most).
        public var contentLabel = "WECARE_AI"
        public var contentDescription = "WeCare AI lesion outline"
        public var layerName = "WECARE_AI"
        /// An ICC profile to use instead of the system sRGB profile (colour sources only).
        public var iccProfile: Data?
        /// Content Creator's Name (PN): the radiologist who signed a revised outline; nil for AI output.
        public var contentCreator: String?

        public init(source: DICOMInstance, sourceFrameNumber: Int? = nil, identity: DerivedIdentity, equipment: DerivedEquipment,
                    annotations: [Annotation]) {
            self.source = source
            self.sourceFrameNumber = sourceFrameNumber
            self.identity = identity
            self.equipment = equipment
            self.annotations = annotations
        }
    }

    /// Writes the object to a file (atomically); the gateway keeps the bytes from `write(_:)`.
    public static func write(_ request: Request, to url: URL) throws {
        try write(request).write(to: url, options: .atomic)
    }

    public static func write(_ request: Request) throws -> Data {
        let source = try SourceSummary.of(request.source)
        if source.isMultiFrame {
            guard let f = request.sourceFrameNumber, (1...source.numberOfFrames).contains(f) else {
                throw DerivedObjectError.invalidRequest(
                    "PR: multi-frame source (\(source.numberOfFrames) frames): give sourceFrameNumber, the frame annotated")
            }
        }
        guard !request.annotations.isEmpty else {
            throw DerivedObjectError.invalidRequest("PR: no annotations; write no presentation state for an image without lesion")
        }
        let colour = !source.isMonochrome
        var icc: [UInt8] = []
        if colour { icc = try [UInt8](request.iccProfile ?? loadSRGBProfile()) }

        let arena = CArena()
        var graphics: [wc_pr_graphic] = []
        var texts: [wc_pr_text] = []
        for (i, a) in request.annotations.enumerated() {
            guard a.contour.allSatisfy({ $0.x.isFinite && $0.y.isFinite }) else {
                throw DerivedObjectError.invalidRequest("PR: annotation \(i + 1) has a non-finite point")
            }
            guard a.contour.count >= 3 else {
                throw DerivedObjectError.invalidRequest("PR: annotation \(i + 1) has \(a.contour.count) points; need at least 3")
            }
            var ring = a.contour
            if ring.first != ring.last { ring.append(ring[0]) }
            var g = wc_pr_graphic()
            g.points = arena.array(ring.flatMap { [Float($0.x), Float($0.y)] })
            g.point_count = ring.count
            g.graphic_type = arena.str("POLYLINE")
            g.filled = 0
            graphics.append(g)
            texts.append(textBox(a, source: source, arena: arena))
        }
        var req = wc_pr_request()
        req.source = request.source.handle
        req.ids = arena.ids(request.identity, request.equipment, laterality: source.laterality)
        req.sop_class_uid = arena.str(colour ? colorSoftcopyPresentationStateStorage : grayscaleSoftcopyPresentationStateStorage)
        req.content_label = arena.str(request.contentLabel)
        req.content_description = arena.str(request.contentDescription)
        req.content_creator = arena.str(request.contentCreator)
        let frames = source.isMultiFrame ? [Int32(request.sourceFrameNumber ?? 1)] : []
        req.referenced_frames = arena.array(frames)
        req.referenced_frame_count = frames.count
        req.layer_name = arena.str(request.layerName)
        req.layer_description = arena.str("WeCare AI lesion outlines and findings")
        req.layer_gray = 65535
        req.layer_cielab = arena.array([UInt16(56_000), UInt16(40_000), UInt16(50_000)])  // yellow-ish on colour displays
        req.columns = UInt32(source.columns)
        req.rows = UInt32(source.rows)
        // MONOCHROME1 stores inverted values: INVERSE shows it as the modality meant.
        req.presentation_lut_shape = colour ? nil : arena.str(source.photometricInterpretation == "MONOCHROME1" ? "INVERSE" : "IDENTITY")
        req.icc_profile = arena.array(icc)
        req.icc_profile_length = icc.count
        return try graphics.withUnsafeBufferPointer { gb in
            return try texts.withUnsafeBufferPointer { tb in
                req.graphics = gb.baseAddress
                req.graphic_count = gb.count
                req.texts = tb.baseAddress
                req.text_count = tb.count
                return try withExtendedLifetime((arena, request.source)) {
                    try encodeWithWriter { wc_write_pr(&req, $0, $1, $2) }
                }
            }
        }
    }

    /// A text box above the outline (below it when there is no room), inside the image.
    static func textBox(_ a: Annotation, source: SourceSummary, arena: CArena) -> wc_pr_text {
        let xs = a.contour.map(\.x), ys = a.contour.map(\.y)
        let minX = xs.min() ?? 0, minY = ys.min() ?? 0, maxY = ys.max() ?? 0
        let width = Double(source.columns), height = Double(source.rows)
        let boxHeight = max(12, height / 30)
        let boxWidth = min(width, Double(a.text.count) * boxHeight * 0.6)
        let left = max(0, min(minX, width - boxWidth))
        var top = minY - boxHeight - 2
        if top < 0 { top = min(height - boxHeight, maxY + 2) }
        var t = wc_pr_text()
        t.text = arena.str(a.text)
        t.top_left = (Float(left), Float(max(0, top)))
        t.bottom_right = (Float(left + boxWidth), Float(min(height, max(0, top) + boxHeight)))
        t.has_anchor = 0
        return t
    }

    static func loadSRGBProfile() throws -> Data {
        for path in sRGBProfileCandidates where FileManager.default.fileExists(atPath: path) {
            if let d = FileManager.default.contents(atPath: path), !d.isEmpty { return d }
        }
        throw DerivedObjectError.missingICCProfile(
            "none of \(sRGBProfileCandidates.joined(separator: ", ")) exists: install Debian icc-profiles-free or pass iccProfile")
    }
}
