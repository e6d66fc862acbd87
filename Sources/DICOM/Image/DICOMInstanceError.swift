/// Why an instance cannot be read or a frame cannot be decoded. Messages name the file (its
/// last path component only), never patient data, and say what to do.
public enum DICOMInstanceError: Error, Equatable, CustomStringConvertible {
    /// The file does not exist or cannot be read.
    case unreadable(file: String, reason: String)
    /// The bytes are not a DICOM dataset.
    case notDICOM(file: String, reason: String)
    /// A Part 10 file whose dataset does not parse to its end: cut short by an interrupted copy
    /// or transfer (or otherwise damaged).
    case truncated(file: String, reason: String)
    /// A Part 10 file whose structure the scanner refuses (nesting too deep, too many elements,
    /// a length past its item or sequence, bytes after the end, a broken meta header).
    case malformed(file: String, reason: String)
    /// The dataset has no Pixel Data (7FE0,0010) (e.g. an SR or a presentation state).
    case noPixelData(file: String)
    /// Not an image of the accepted SOP classes, or its Modality contradicts its SOP class.
    case wrongSOPClass(file: String, reason: String)
    /// Attributes that contradict each other or the pixel data (size above the ceiling, pixel
    /// data length, bits / samples / photometric combination, compressed frame headers).
    case implausibleImage(file: String, reason: String)
    /// A required attribute is missing or has an unusable value.
    case missingAttribute(file: String, attribute: String)
    /// Pixel data encoded in a transfer syntax this toolkit cannot decode (JPEG 2000, MPEG, ...).
    case unsupportedTransferSyntax(file: String, uid: String)
    /// A Photometric Interpretation the decoder does not handle.
    case unsupportedPhotometric(file: String, value: String)
    /// Frame index outside 0..<numberOfFrames.
    case frameOutOfRange(file: String, index: Int, count: Int)
    /// DCMTK failed to decode the frame.
    case decodingFailed(file: String, frame: Int, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "\(file): cannot read the file (\(reason)); check that it exists and is readable"
        case let .notDICOM(file, reason):
            return "\(file): not a DICOM file (\(reason)); send a DICOM Part 10 file"
        case let .truncated(file, reason):
            return "\(file): the DICOM file ends early or is damaged (\(reason)); resend the complete instance"
        case let .malformed(file, reason):
            return "\(file): \(reason)"
        case let .wrongSOPClass(file, reason):
            return "\(file): \(reason)"
        case let .implausibleImage(file, reason):
            return "\(file): the image cannot be decoded safely: \(reason)"
        case let .noPixelData(file):
            return "\(file): the dataset has no Pixel Data (7FE0,0010); only image instances can be analysed"
        case let .missingAttribute(file, attribute):
            return "\(file): required attribute \(attribute) is missing or invalid; fix the modality's export"
        case let .unsupportedTransferSyntax(file, uid):
            return "\(file): transfer syntax \(uid) (\(TransferSyntax.name(of: uid))) cannot be decoded here; "
                + "have the modality or PACS send JPEG, JPEG-LS, RLE or uncompressed"
        case let .unsupportedPhotometric(file, value):
            return "\(file): Photometric Interpretation \"\(value)\" is not supported; expected MONOCHROME1/2, "
                + "RGB, YBR_FULL, YBR_FULL_422 or PALETTE COLOR"
        case let .frameOutOfRange(file, index, count):
            return "\(file): frame \(index) requested but the instance has \(count) frame(s) (0-based index)"
        case let .decodingFailed(file, frame, reason):
            return "\(file): frame \(frame) could not be decoded (\(reason)); the pixel data may be corrupt"
        }
    }
}
