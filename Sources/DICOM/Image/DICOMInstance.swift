import CDCMTK
import Foundation
import Synchronization

/// An image instance read from a DICOM file: the attributes the pipeline decides on, the
/// Sequence of Ultrasound Regions, and frames decoded one at a time.
///
/// Opening parses the file but leaves the pixel data in it: the file must stay in place while
/// frames are decoded. Different instances may be decoded on different threads at once; calls
/// on one instance are serialised.
public final class DICOMInstance: @unchecked Sendable {  // immutable; the handle locks itself
    public let url: URL
    public let sopClassUID: String
    public let sopInstanceUID: String
    public let studyInstanceUID: String?
    public let seriesInstanceUID: String?
    public let modality: String?
    public let transferSyntaxUID: String
    public let rows: Int
    public let columns: Int
    /// Number of Frames (0028,0008), 1 when absent.
    public let numberOfFrames: Int
    public let photometricInterpretation: String
    public let bitsAllocated: Int
    public let bitsStored: Int
    public let samplesPerPixel: Int
    /// Planar Configuration (0028,0006): 0 = interleaved, 1 = planes; 0 when absent.
    public let planarConfiguration: Int
    public let pixelRepresentation: Int
    /// Laterality (0020,0060) (series level), e.g. "R" / "L".
    public let laterality: String?
    /// Image Laterality (0020,0062), e.g. "R" / "L" / "B" / "U".
    public let imageLaterality: String?
    /// Lossy Image Compression (0028,2110) == "01", or the transfer syntax itself is lossy.
    public let lossy: Bool
    /// Lossy Image Compression Ratio (0028,2112) values, empty when absent.
    public let lossyCompressionRatios: [Double]
    /// Lossy Image Compression Method (0028,2114) values, empty when absent.
    public let lossyCompressionMethods: [String]
    /// Specific Character Set (0008,0005) values, empty when absent (default repertoire).
    public let specificCharacterSet: [String]
    /// Burned In Annotation (0028,0301) "YES" / "NO"; usually absent although text is burned in.
    public let burnedInAnnotation: String?
    /// Sequence of Ultrasound Regions (0018,6011), in order; empty when absent.
    public let ultrasoundRegions: [UltrasoundRegion]

    /// Stored 8-bit samples are the output as they are (see `storedSamplesAreOutput`).
    private let storedSamplesAreOutput: Bool
    /// PALETTE COLOR with segmented tables, expanded at open (or why they cannot be): frames are
    /// looked up here, since DCMTK's image module refuses segmented palettes. nil otherwise.
    private let segmentedPalette: Result<SegmentedPalette, SegmentedPaletteError>?

    private let image: ImageHandle
    /// For the writers, which copy from the parsed source (keep the instance alive while used).
    var handle: OpaquePointer { image.pointer }
    /// The writers' summary, read on first use (three writers use it per job).
    let writerSummaryCache = Mutex<SourceSummary?>(nil)
    private let fileName: String

    /// Photometric interpretations the decoder handles.
    public static let supportedPhotometrics: Set<String> = [
        "MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422", "PALETTE COLOR",
    ]

    /// Checks the file (`InstanceValidator`, the same checks the receive path makes), parses
    /// it and checks that its frames can be decoded here.
    /// - Throws: `DICOMInstanceError` (unreadable, notDICOM, truncated, malformed, noPixelData,
    ///   wrongSOPClass, implausibleImage, missingAttribute, unsupportedTransferSyntax,
    ///   unsupportedPhotometric).
    public convenience init(contentsOf url: URL, validator: InstanceValidator = InstanceValidator()) throws {
        try self.init(contentsOf: url, validator: validator, decodable: true)
    }

    /// The instance's header only, for a report about an image that cannot be analysed: the
    /// structure is checked (DCMTK's parser is safe on it) but not the image attributes, which
    /// are read as far as present (0 when absent); never decode frames of such an instance.
    public static func header(contentsOf url: URL) throws -> DICOMInstance {
        try DICOMInstance(contentsOf: url, validator: .structureOnly, decodable: false)
    }

    private init(contentsOf url: URL, validator: InstanceValidator, decodable: Bool) throws {
        self.url = url
        fileName = url.lastPathComponent
        // Before DCMTK parses anything: its parser recurses per nested sequence and its decoders
        // trust the headers (issue 23: stack overflows, 12.9 GB allocations, RLE segfaults).
        try Self.validate(url, with: validator)
        var status = WC_IMAGE_OK
        var message = [CChar](repeating: 0, count: 512)
        guard let h = wc_image_open(url.path, &status, &message, message.count) else {
            let reason = String(cString: message)
            switch status {
            case WC_IMAGE_TRUNCATED: throw DICOMInstanceError.truncated(file: fileName, reason: reason)
            case WC_IMAGE_NOT_DICOM: throw DICOMInstanceError.notDICOM(file: fileName, reason: reason)
            default: throw DICOMInstanceError.unreadable(file: fileName, reason: reason)
            }
        }
        image = ImageHandle(h)  // closes the file when the last reference goes, also on a throw below
        let reader = AttributeReader(handle: h)
        let file = fileName
        func required(_ tag: UInt32, _ name: String) throws -> String {
            guard let v = reader.string(tag), !v.isEmpty else {
                throw DICOMInstanceError.missingAttribute(file: file, attribute: name)
            }
            return v
        }
        func requiredInt(_ tag: UInt32, _ name: String) throws -> Int {
            guard let v = reader.number(tag), v >= 1 else {
                throw DICOMInstanceError.missingAttribute(file: file, attribute: name)
            }
            return Int(v)
        }
        // A parse that yields no SOP Class UID is not a DICOM instance (or random bytes).
        guard let sopClass = reader.string(ImageTag.sopClassUID), !sopClass.isEmpty else {
            throw DICOMInstanceError.notDICOM(file: file, reason: "no SOP Class UID (0008,0016)")
        }
        sopClassUID = sopClass
        sopInstanceUID = try required(ImageTag.sopInstanceUID, "SOP Instance UID (0008,0018)")
        studyInstanceUID = reader.string(ImageTag.studyInstanceUID)
        seriesInstanceUID = reader.string(ImageTag.seriesInstanceUID)
        modality = reader.string(ImageTag.modality)
        // Files without a meta header: the encoding DCMTK detected while parsing.
        transferSyntaxUID = reader.string(ImageTag.transferSyntaxUID).flatMap { $0.isEmpty ? nil : $0 }
            ?? String(cString: wc_image_original_transfer_syntax(h))
        laterality = reader.string(ImageTag.laterality).flatMap { $0.isEmpty ? nil : $0 }
        imageLaterality = reader.string(ImageTag.imageLaterality).flatMap { $0.isEmpty ? nil : $0 }
        specificCharacterSet = reader.strings(ImageTag.specificCharacterSet)
        burnedInAnnotation = reader.string(ImageTag.burnedInAnnotation).flatMap { $0.isEmpty ? nil : $0 }
        lossyCompressionRatios = reader.numbers(ImageTag.lossyImageCompressionRatio)
        lossyCompressionMethods = reader.strings(ImageTag.lossyImageCompressionMethod)
        lossy = reader.string(ImageTag.lossyImageCompression) == "01"
            || TransferSyntax.lossy.contains(transferSyntaxUID)
        ultrasoundRegions = reader.ultrasoundRegions()

        guard decodable else {
            rows = Int(reader.number(ImageTag.rows) ?? 0)
            columns = Int(reader.number(ImageTag.columns) ?? 0)
            bitsAllocated = Int(reader.number(ImageTag.bitsAllocated) ?? 0)
            bitsStored = Int(reader.number(ImageTag.bitsStored) ?? 0)
            samplesPerPixel = Int(reader.number(ImageTag.samplesPerPixel) ?? 0)
            planarConfiguration = Int(reader.number(ImageTag.planarConfiguration) ?? 0)
            pixelRepresentation = Int(reader.number(ImageTag.pixelRepresentation) ?? 0)
            numberOfFrames = max(1, Int(reader.number(ImageTag.numberOfFrames) ?? 1))
            photometricInterpretation = reader.string(ImageTag.photometricInterpretation) ?? ""
            storedSamplesAreOutput = false
            segmentedPalette = nil
            return
        }
        guard wc_image_has_pixel_data(h) == 1 else { throw DICOMInstanceError.noPixelData(file: file) }
        guard TransferSyntax.decodable.contains(transferSyntaxUID) else {
            throw DICOMInstanceError.unsupportedTransferSyntax(file: file, uid: transferSyntaxUID)
        }
        rows = try requiredInt(ImageTag.rows, "Rows (0028,0010)")
        columns = try requiredInt(ImageTag.columns, "Columns (0028,0011)")
        bitsAllocated = try requiredInt(ImageTag.bitsAllocated, "Bits Allocated (0028,0100)")
        bitsStored = Int(reader.number(ImageTag.bitsStored) ?? Double(bitsAllocated))
        samplesPerPixel = try requiredInt(ImageTag.samplesPerPixel, "Samples per Pixel (0028,0002)")
        planarConfiguration = Int(reader.number(ImageTag.planarConfiguration) ?? 0)
        pixelRepresentation = Int(reader.number(ImageTag.pixelRepresentation) ?? 0)
        numberOfFrames = max(1, Int(reader.number(ImageTag.numberOfFrames) ?? 1))
        photometricInterpretation = try required(ImageTag.photometricInterpretation,
                                                 "Photometric Interpretation (0028,0004)")
        guard Self.supportedPhotometrics.contains(photometricInterpretation) else {
            throw DICOMInstanceError.unsupportedPhotometric(file: file, value: photometricInterpretation)
        }
        storedSamplesAreOutput = Self.storedSamplesAreOutput(
            transferSyntaxUID: transferSyntaxUID, photometric: photometricInterpretation, samplesPerPixel: samplesPerPixel,
            bitsAllocated: bitsAllocated, bitsStored: bitsStored, highBit: reader.number(ImageTag.highBit).map(Int.init),
            pixelRepresentation: pixelRepresentation, reader: reader)
        segmentedPalette = photometricInterpretation == "PALETTE COLOR" && samplesPerPixel == 1 && SegmentedPalette.isPresent(reader)
            ? SegmentedPalette.read(reader) : nil
    }

    /// True when DCMTK's rendering would hand back the stored bytes unchanged, so a frame is
    /// read as it is (about 1.2 ms less per 562 x 471 image than building a DicomImage):
    /// native little-endian 8-bit unsigned samples, MONOCHROME without any modality mapping and
    /// with no VOI transformation chosen (`voi`), or RGB. Everything else (compressed, YBR,
    /// palette, more bits, windows, LUTs, rescaling) goes through DCMTK.
    private static func storedSamplesAreOutput(transferSyntaxUID: String, photometric: String, samplesPerPixel: Int,
                                               bitsAllocated: Int, bitsStored: Int, highBit: Int?,
                                               pixelRepresentation: Int, reader: AttributeReader) -> Bool {
        guard transferSyntaxUID == TransferSyntax.explicitVRLittleEndian || transferSyntaxUID == TransferSyntax.implicitVRLittleEndian,
              bitsAllocated == 8, bitsStored == 8, highBit ?? 7 == 7, pixelRepresentation == 0 else { return false }
        switch (photometric, samplesPerPixel) {
        case ("RGB", 3):
            return true
        case ("MONOCHROME2", 1), ("MONOCHROME1", 1):
            let noRescale = (reader.number(ImageTag.rescaleSlope) ?? 1) == 1 && (reader.number(ImageTag.rescaleIntercept) ?? 0) == 0
            let noModalityLUT = (reader.itemCount(ImageTag.modalityLUTSequence) ?? 0) == 0
            return noRescale && noModalityLUT && voi(reader, bitsStored: bitsStored).mode == WC_VOI_NONE
        default:
            return false
        }
    }

    public var isMonochrome: Bool { photometricInterpretation.hasPrefix("MONOCHROME") }

    /// A top-level attribute's value as text (values joined by "\\"), nil when absent: the
    /// reading room's worklist reads Patient's Name (0010,0010), Patient ID (0010,0020) and
    /// Study Date (0008,0020) this way. Patient data: show it, never log it.
    public func attribute(_ tag: UInt32) -> String? {
        AttributeReader(handle: image.pointer).string(tag)
    }

    /// Why calibrated tissue regions cannot be measured in (implausible Physical Delta X/Y);
    /// empty when every calibration is plausible. Such regions give no mm values.
    public var calibrationProblems: [String] { ultrasoundRegions.compactMap(\.calibrationProblem) }

    /// The calibrated 2D tissue region containing the point, the smallest when several do.
    public func calibratedTissueRegion(containing point: (x: Double, y: Double)) -> UltrasoundRegion? {
        ultrasoundRegions.calibratedTissueRegion(containing: point)
    }

    /// The largest calibrated 2D tissue region, or nil when the image has none (no mm values).
    public var primaryTissueRegion: UltrasoundRegion? { ultrasoundRegions.primaryTissueRegion }

    /// Frame `index` (0-based) as 8-bit grayscale.
    /// Monochrome: Window Center/Width (first) if present, else the first VOI LUT, else the
    /// stored range as is for <= 8 bits stored (identity) and the frame's min..max for more;
    /// MONOCHROME1 is inverted so 0 is black. Colour (RGB, YBR_*, PALETTE COLOR, via DCMTK to
    /// 8-bit RGB): round(0.299 R + 0.587 G + 0.114 B).
    public func grayscaleFrame(_ index: Int) throws -> GrayscaleFrame {
        let (w, h, samples, bytes) = try decode(index)
        if samples == 1 { return GrayscaleFrame(width: w, height: h, pixels: presentationPolarity(bytes)) }
        var gray = [UInt8](repeating: 0, count: w * h)
        bytes.withUnsafeBufferPointer { src in
            gray.withUnsafeMutableBufferPointer { dst in
                Luma.convert(rgb: src, into: dst)
            }
        }
        return GrayscaleFrame(width: w, height: h, pixels: gray)
    }

    /// Frame `index` (0-based) as interleaved 8-bit RGB; monochrome frames (windowed as in
    /// `grayscaleFrame`) are repeated into R, G and B.
    public func rgbFrame(_ index: Int) throws -> RGBFrame {
        let (w, h, samples, stored) = try decode(index)
        if samples == 3 { return RGBFrame(width: w, height: h, pixels: stored) }
        let bytes = presentationPolarity(stored)
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) {
            rgb[3 * i] = bytes[i]
            rgb[3 * i + 1] = bytes[i]
            rgb[3 * i + 2] = bytes[i]
        }
        return RGBFrame(width: w, height: h, pixels: rgb)
    }

    /// MONOCHROME1 stores white as the minimum: invert so 0 is black, as the models expect.
    private func presentationPolarity(_ stored: [UInt8]) -> [UInt8] {
        photometricInterpretation == "MONOCHROME1" ? stored.map { 255 - $0 } : stored
    }

    /// How monochrome values are mapped to 8 bits (see `grayscaleFrame`).
    private var voi: (mode: wc_voi_mode, index: UInt32) {
        Self.voi(AttributeReader(handle: handle), bitsStored: bitsStored)
    }

    private static func voi(_ reader: AttributeReader, bitsStored: Int) -> (mode: wc_voi_mode, index: UInt32) {
        if let w = reader.number(ImageTag.windowWidth), w >= 1, reader.number(ImageTag.windowCenter) != nil {
            return (WC_VOI_WINDOW, 0)
        }
        if (reader.itemCount(ImageTag.voiLUTSequence) ?? 0) > 0 { return (WC_VOI_LUT, 0) }
        return bitsStored <= 8 ? (WC_VOI_NONE, 0) : (WC_VOI_MINMAX, 0)
    }

    private func decode(_ index: Int) throws -> (Int, Int, Int, [UInt8]) {
        guard index >= 0, index < numberOfFrames else {
            throw DICOMInstanceError.frameOutOfRange(file: fileName, index: index, count: numberOfFrames)
        }
        if storedSamplesAreOutput { return try storedFrame(index) }
        if let segmentedPalette { return try paletteFrame(index, segmentedPalette) }
        let voi = isMonochrome ? self.voi : (WC_VOI_NONE, UInt32(0))
        var out = [UInt8](repeating: 0, count: rows * columns * 3)
        var width: UInt32 = 0, height: UInt32 = 0, samples: UInt32 = 0
        try decodingFrame(index) { message, capacity in
            out.withUnsafeMutableBufferPointer { buf in
                wc_image_decode_frame(handle, UInt32(index), voi.0, voi.1, buf.baseAddress, buf.count,
                                      &width, &height, &samples, message, capacity)
            }
        }
        guard Int(width) == columns, Int(height) == rows else {
            throw DICOMInstanceError.decodingFailed(
                file: fileName, frame: index,
                reason: "decoded \(width)x\(height) but Columns x Rows say \(columns)x\(rows)")
        }
        out.removeSubrange(Int(width * height * samples)...)
        return (Int(width), Int(height), Int(samples), out)
    }
}

extension DICOMInstance {
    /// One shim call that decodes frame `index`: fails with the shim's message, and also when a
    /// decoder warned during it. A decoder that warned produced pixels from damaged data
    /// (libjpeg fills a corrupt scan with grey and carries on): analysing them would report
    /// what is not there.
    private func decodingFrame(_ index: Int,
                               _ call: (UnsafeMutablePointer<CChar>, Int) -> wc_image_status) throws {
        var message = [CChar](repeating: 0, count: 512)
        _ = wc_image_take_decode_warnings(nil, 0)  // this thread's earlier warnings are not this frame's
        let status = message.withUnsafeMutableBufferPointer { call($0.baseAddress!, $0.count) }
        guard status == WC_IMAGE_OK else {
            throw DICOMInstanceError.decodingFailed(file: fileName, frame: index, reason: String(cString: message))
        }
        var warning = [CChar](repeating: 0, count: 256)
        let warnings = wc_image_take_decode_warnings(&warning, warning.count)
        guard warnings == 0 else {
            throw DICOMInstanceError.decodingFailed(
                file: fileName, frame: index,
                reason: "the decoder reported damaged data \(warnings) time(s), first: \(String(cString: warning))")
        }
    }

    /// Frame `index` of a PALETTE COLOR image with segmented tables: its indices read as stored
    /// (decoded first when encapsulated) and looked up in the expanded tables.
    private func paletteFrame(_ index: Int, _ palette: Result<SegmentedPalette, SegmentedPaletteError>) throws
        -> (Int, Int, Int, [UInt8]) {
        let tables: SegmentedPalette
        switch palette {
        case .success(let t): tables = t
        case .failure(let e):
            throw DICOMInstanceError.decodingFailed(file: fileName, frame: index,
                                                    reason: e.reason + "; fix the modality's palette export")
        }
        guard bitsAllocated == 8 || bitsAllocated == 16 else {
            throw DICOMInstanceError.decodingFailed(
                file: fileName, frame: index, reason: "PALETTE COLOR with Bits Allocated \(bitsAllocated); expected 8 or 16")
        }
        let pixels = rows * columns
        let count = pixels * bitsAllocated / 8
        var samples = [UInt8](repeating: 0, count: count)
        try decodingFrame(index) { message, capacity in
            samples.withUnsafeMutableBufferPointer { buf in
                wc_image_read_frame_samples(handle, UInt32(index), buf.baseAddress, count, message, capacity)
            }
        }
        return (columns, rows, 3, tables.rgb(samples: samples, pixels: pixels, bitsAllocated: bitsAllocated, bitsStored: bitsStored))
    }

    /// Frame `index` as stored (8-bit samples that need no mapping), interleaved when the
    /// samples are stored plane by plane.
    private func storedFrame(_ index: Int) throws -> (Int, Int, Int, [UInt8]) {
        let count = rows * columns * samplesPerPixel
        var message = [CChar](repeating: 0, count: 512)
        var stored = [UInt8](repeating: 0, count: count)
        let status = stored.withUnsafeMutableBufferPointer { buf in
            wc_image_read_native_frame(handle, UInt32(index), buf.baseAddress, count, &message, message.count)
        }
        guard status == WC_IMAGE_OK else {
            throw DICOMInstanceError.decodingFailed(file: fileName, frame: index, reason: String(cString: message))
        }
        let plane = rows * columns
        if samplesPerPixel == 3,
           PlanarLayoutCheck.declaredLayoutIsWrong(stored, pixels: plane, declaredPlanar: planarConfiguration == 1) {
            throw DICOMInstanceError.decodingFailed(
                file: fileName, frame: index,
                reason: "Planar Configuration \(planarConfiguration) does not match how the samples are stored "
                    + "(they read as \(planarConfiguration == 1 ? "interleaved, 0" : "planes, 1")); fix the modality's export")
        }
        guard samplesPerPixel == 3, planarConfiguration == 1 else { return (columns, rows, samplesPerPixel, stored) }
        var interleaved = [UInt8](repeating: 0, count: count)
        for i in 0..<plane {
            interleaved[3 * i] = stored[i]
            interleaved[3 * i + 1] = stored[plane + i]
            interleaved[3 * i + 2] = stored[2 * plane + i]
        }
        return (columns, rows, 3, interleaved)
    }
}

extension DICOMInstance {
    /// `InstanceValidator`'s verdict as the `DICOMInstanceError` that says what is wrong.
    private static func validate(_ url: URL, with validator: InstanceValidator) throws {
        let file = url.lastPathComponent
        let inspection = validator.inspect(file: url)
        let scan: DatasetScan
        switch inspection.scan {
        case .failure(let error):
            switch error {
            case .unreadable(let reason): throw DICOMInstanceError.unreadable(file: file, reason: reason)
            case .notDICOM(let reason): throw DICOMInstanceError.notDICOM(file: file, reason: reason)
            case .endsEarly: throw DICOMInstanceError.truncated(file: file, reason: error.description)
            default: throw DICOMInstanceError.malformed(file: file, reason: error.description)
            }
        case .success(let s):
            scan = s
        }
        guard let failure = inspection.imageFailure else { return }
        // In the order the checks after parsing used to report them.
        if failure == .noPixelData { throw DICOMInstanceError.noPixelData(file: file) }
        guard TransferSyntax.decodable.contains(scan.transferSyntaxUID) else {
            throw DICOMInstanceError.unsupportedTransferSyntax(file: file, uid: scan.transferSyntaxUID)
        }
        switch failure {
        case .missingAttribute(let name): throw DICOMInstanceError.missingAttribute(file: file, attribute: name)
        case .unsupportedPhotometric(let value): throw DICOMInstanceError.unsupportedPhotometric(file: file, value: value)
        case .sopClassNotAccepted, .modalityMismatch: throw DICOMInstanceError.wrongSOPClass(file: file, reason: failure.description)
        default: throw DICOMInstanceError.implausibleImage(file: file, reason: failure.description)
        }
    }
}

/// Owns the shim handle, so it is closed exactly once however DICOMInstance's init ends.
private final class ImageHandle {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { wc_image_close(pointer) }
}
