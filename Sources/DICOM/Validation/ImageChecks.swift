/// Plausibility checks of an image's declared attributes against each other and against its
/// pixel data, on a `DatasetScan`, before any decoder runs. Each rule stops an input that made a
/// decoder crash, allocate gigabytes, or return pixels that analysis then trusted (issue 23).
public struct ImageChecks: Sendable, Equatable {
    /// Ceiling on Rows x Columns x Frames x Samples per Pixel: what a decoder allocates for.
    public var maxSamples: Int
    /// SOP classes an image may have (the receive path also requires the command's to be equal).
    public var acceptedSOPClasses: Set<String>

    /// 300 million: a 120-frame 1024 x 768 RGB cine loop is 283 million; a header declaring
    /// 65535 x 65535 (the hostile JPEG of issue 23) is 4,295 million.
    public static let defaultMaxSamples = 300_000_000

    public static let ultrasoundImageStorage = "1.2.840.10008.5.1.4.1.1.6.1"
    public static let ultrasoundMultiFrameImageStorage = "1.2.840.10008.5.1.4.1.1.3.1"
    public static let ultrasoundSOPClasses: Set<String> = [ultrasoundImageStorage, ultrasoundMultiFrameImageStorage]

    /// The Modality (0008,0060) each SOP class's IOD prescribes.
    private static let modalityOfClass = [ultrasoundImageStorage: "US", ultrasoundMultiFrameImageStorage: "US"]

    /// The transfer syntaxes whose pixel data is native; every other one is encapsulated.
    private static let nativeSyntaxes: Set<String> = [
        TransferSyntax.implicitVRLittleEndian, TransferSyntax.explicitVRLittleEndian,
        TransferSyntax.deflatedExplicitVRLittleEndian, TransferSyntax.explicitVRBigEndian,
    ]
    private static let jpegSyntaxes: Set<String> = [
        TransferSyntax.jpegBaseline, TransferSyntax.jpegExtended, TransferSyntax.jpegLossless,
        TransferSyntax.jpegLosslessSV1, TransferSyntax.jpegLSLossless, TransferSyntax.jpegLSNearLossless,
    ]
    private static let monochromeOrPalette: Set<String> = ["MONOCHROME1", "MONOCHROME2", "PALETTE COLOR"]
    private static let colour: Set<String> = ["RGB", "YBR_FULL", "YBR_FULL_422"]

    public init(maxSamples: Int = ImageChecks.defaultMaxSamples, acceptedSOPClasses: Set<String> = ImageChecks.ultrasoundSOPClasses) {
        self.maxSamples = maxSamples
        self.acceptedSOPClasses = acceptedSOPClasses
    }

    public static let `default` = ImageChecks()

    /// The image's geometry once checked.
    struct Geometry {
        var rows, columns, frames, samples, bitsAllocated: Int
    }

    func check(_ scan: DatasetScan, bytes: ByteSource) throws(ImageCheckFailure) {
        let a = scan.attributes
        guard let sopClass = a.sopClassUID, !sopClass.isEmpty else { throw .missingAttribute("SOP Class UID (0008,0016)") }
        guard acceptedSOPClasses.contains(sopClass) else { throw .sopClassNotAccepted(uid: sopClass) }
        if let expected = Self.modalityOfClass[sopClass], let modality = a.modality, !modality.isEmpty, modality != expected {
            throw .modalityMismatch(modality: modality, sopClassUID: sopClass)
        }
        guard let pixelData = scan.pixelData else { throw .noPixelData }
        let geometry = try checkLayout(a)
        switch pixelData {
        case let .native(_, length):
            guard Self.nativeSyntaxes.contains(scan.transferSyntaxUID) else {
                throw .pixelDataEncoding(reason: "native Pixel Data in the compressed transfer syntax \(scan.transferSyntaxUID) (\(TransferSyntax.name(of: scan.transferSyntaxUID)))")
            }
            let expected = geometry.rows * geometry.columns * geometry.frames * geometry.samples * (geometry.bitsAllocated / 8)
            // An odd length is padded to even with one byte (PS3.5 7.1.1).
            guard length == expected || (expected % 2 == 1 && length == expected + 1) else {
                throw .pixelDataLength(expected: expected, actual: length)
            }
        case let .encapsulated(_, fragments):
            guard !Self.nativeSyntaxes.contains(scan.transferSyntaxUID) else {
                throw .pixelDataEncoding(reason: "encapsulated Pixel Data in the native transfer syntax \(TransferSyntax.name(of: scan.transferSyntaxUID))")
            }
            guard fragments.count >= geometry.frames else {
                throw .pixelDataEncoding(reason: "\(fragments.count) fragment(s) for \(geometry.frames) frame(s)")
            }
            if Self.jpegSyntaxes.contains(scan.transferSyntaxUID) {
                try checkJPEG(fragments, geometry, bytes: bytes)
            } else if scan.transferSyntaxUID == TransferSyntax.rleLossless {
                try checkRLE(fragments, geometry, bytes: bytes)
            }
        }
    }

    /// The combinations of bits, samples, photometric interpretation and planar configuration
    /// the decoder handles for ultrasound (PS3.3 C.8.5.6.1), and the size ceiling.
    private func checkLayout(_ a: ScannedAttributes) throws(ImageCheckFailure) -> Geometry {
        if let name = a.unreadable.first(where: { $0.contains("(0028,") }) { throw .missingAttribute(name) }
        func positive(_ v: Int?, _ name: String) throws(ImageCheckFailure) -> Int {
            guard let v, v >= 1 else { throw .missingAttribute(name) }
            return v
        }
        let rows = try positive(a.rows, "Rows (0028,0010)")
        let columns = try positive(a.columns, "Columns (0028,0011)")
        let samples = try positive(a.samplesPerPixel, "Samples per Pixel (0028,0002)")
        let bitsAllocated = try positive(a.bitsAllocated, "Bits Allocated (0028,0100)")
        let frames = try positive(a.numberOfFrames ?? 1, "Number of Frames (0028,0008)")
        guard let photometric = a.photometricInterpretation, !photometric.isEmpty else {
            throw .missingAttribute("Photometric Interpretation (0028,0004)")
        }

        // Before any product is used: 65535^2 x frames x 3 must not overflow a check below.
        let (area, o1) = rows.multipliedReportingOverflow(by: columns)
        let (withFrames, o2) = area.multipliedReportingOverflow(by: frames)
        let (total, o3) = withFrames.multipliedReportingOverflow(by: samples)
        guard !o1, !o2, !o3, total <= maxSamples else { throw .tooLarge(samples: o1 || o2 || o3 ? Int.max : total, ceiling: maxSamples) }

        guard bitsAllocated == 8 || bitsAllocated == 16 else {
            throw .unsupportedLayout(reason: "Bits Allocated \(bitsAllocated); ultrasound images have 8 or 16")
        }
        let bitsStored = a.bitsStored ?? bitsAllocated
        guard (1...bitsAllocated).contains(bitsStored) else {
            throw .unsupportedLayout(reason: "Bits Stored \(bitsStored) with Bits Allocated \(bitsAllocated)")
        }
        if let highBit = a.highBit, highBit != bitsStored - 1 {
            throw .unsupportedLayout(reason: "High Bit \(highBit) with Bits Stored \(bitsStored); it must be Bits Stored - 1")
        }
        if let representation = a.pixelRepresentation, representation != 0 && representation != 1 {
            throw .unsupportedLayout(reason: "Pixel Representation \(representation); 0 or 1")
        }
        guard Self.monochromeOrPalette.contains(photometric) || Self.colour.contains(photometric) else {
            throw .unsupportedPhotometric(value: photometric)
        }
        switch samples {
        case 1:
            guard Self.monochromeOrPalette.contains(photometric) else {
                throw .unsupportedLayout(reason: "Photometric Interpretation \(photometric) with 1 sample per pixel; "
                    + "expected MONOCHROME2, MONOCHROME1 or PALETTE COLOR")
            }
        case 3:
            guard Self.colour.contains(photometric) else {
                throw .unsupportedLayout(reason: "Photometric Interpretation \(photometric) with 3 samples per pixel; "
                    + "expected RGB, YBR_FULL or YBR_FULL_422")
            }
            guard bitsAllocated == 8 else {
                throw .unsupportedLayout(reason: "colour with Bits Allocated \(bitsAllocated); ultrasound colour has 8")
            }
            let planar = a.planarConfiguration ?? 0
            guard planar == 0 || planar == 1 else {
                throw .unsupportedLayout(reason: "Planar Configuration \(planar); 0 (interleaved) or 1 (planes)")
            }
            if photometric == "YBR_FULL_422" && planar != 0 {
                throw .unsupportedLayout(reason: "YBR_FULL_422 with Planar Configuration 1; it is always interleaved (0)")
            }
        default:
            throw .unsupportedLayout(reason: "Samples per Pixel \(samples); ultrasound images have 1 or 3")
        }
        return Geometry(rows: rows, columns: columns, frames: frames, samples: samples, bitsAllocated: bitsAllocated)
    }

    /// Every frame's JPEG stream starts a fragment with SOI, and its frame header matches the
    /// attributes: the decoder sizes its output from the SOF, the gateway from Rows x Columns.
    private func checkJPEG(_ fragments: [ByteRange], _ g: Geometry, bytes: ByteSource) throws(ImageCheckFailure) {
        var starts: [ByteRange] = []
        for fragment in fragments {
            do { if try CompressedFrameHeaders.startsWithSOI(bytes, fragment) { starts.append(fragment) } } catch {
                throw .unreadable(reason: "\(error)")
            }
        }
        guard let first = fragments.first, starts.first == first else {
            throw .compressedHeader(reason: "the first fragment is not the start of a JPEG stream (no SOI marker)")
        }
        guard starts.count == g.frames else {
            throw .compressedHeader(reason: "\(starts.count) JPEG stream(s) for \(g.frames) frame(s)")
        }
        for (index, start) in starts.enumerated() {
            let sof = try CompressedFrameHeaders.jpegFrameHeader(bytes, start)
            guard sof.width == g.columns, sof.height == g.rows, sof.components == g.samples, sof.precision <= g.bitsAllocated else {
                throw .compressedHeader(reason: "frame \(index + 1)'s JPEG header says \(sof.width) x \(sof.height), "
                    + "\(sof.components) component(s), \(sof.precision) bits; the attributes say \(g.columns) x \(g.rows), "
                    + "\(g.samples) sample(s), \(g.bitsAllocated) bits allocated")
            }
        }
    }

    /// RLE: one fragment per frame (PS3.5 A.4.2), each with a sane header.
    private func checkRLE(_ fragments: [ByteRange], _ g: Geometry, bytes: ByteSource) throws(ImageCheckFailure) {
        guard fragments.count == g.frames else {
            throw .pixelDataEncoding(reason: "RLE needs one fragment per frame: \(fragments.count) for \(g.frames) frame(s)")
        }
        for (index, fragment) in fragments.enumerated() {
            try CompressedFrameHeaders.checkRLEHeader(bytes, fragment, expectedSegments: g.samples * g.bitsAllocated / 8, frame: index)
        }
    }
}
