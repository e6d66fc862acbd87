/// Why a structurally sound dataset is still not an image this gateway may decode. Messages
/// carry attribute names and numbers, never patient data or UIDs (SOP Class UIDs are public
/// identifiers of the standard, not of a patient).
public enum ImageCheckFailure: Error, Equatable, CustomStringConvertible, Sendable {
    /// The SOP class is not one of the accepted image classes.
    case sopClassNotAccepted(uid: String)
    /// Modality (0008,0060) contradicts the SOP class (a CT dataset labelled as ultrasound).
    case modalityMismatch(modality: String, sopClassUID: String)
    /// The dataset has no Pixel Data (7FE0,0010).
    case noPixelData
    /// A required attribute is absent, empty or unreadable.
    case missingAttribute(String)
    /// Rows x Columns x Frames x Samples above the configured ceiling.
    case tooLarge(samples: Int, ceiling: Int)
    /// A Photometric Interpretation the decoder does not handle at all (HSV, YBR_RCT, ...).
    case unsupportedPhotometric(value: String)
    /// A Bits / Samples / Photometric / Planar Configuration combination this decoder does not take.
    case unsupportedLayout(reason: String)
    /// Native pixel data whose length disagrees with what the attributes declare.
    case pixelDataLength(expected: Int, actual: Int)
    /// Encapsulated pixel data in a native transfer syntax, or the reverse; too few fragments.
    case pixelDataEncoding(reason: String)
    /// A JPEG / JPEG-LS frame header that disagrees with the attributes, or none where one must be.
    case compressedHeader(reason: String)
    /// An RLE header whose segment count or offsets cannot be right.
    case rleHeader(reason: String)
    /// The bytes could not be read back for a check.
    case unreadable(reason: String)

    /// True for the failures DICOM answers with A900 ("dataset does not match SOP class").
    public var contradictsSOPClass: Bool {
        switch self {
        case .sopClassNotAccepted, .modalityMismatch: return true
        default: return false
        }
    }

    /// A short stable label for metrics (`reason="..."`).
    public var label: String {
        switch self {
        case .sopClassNotAccepted: return "sop_class"
        case .modalityMismatch: return "modality"
        case .noPixelData: return "no_pixel_data"
        case .missingAttribute: return "missing_attribute"
        case .tooLarge: return "image_too_large"
        case .unsupportedPhotometric, .unsupportedLayout: return "pixel_layout"
        case .pixelDataLength: return "pixel_data_length"
        case .pixelDataEncoding: return "pixel_data_encoding"
        case .compressedHeader: return "compressed_header"
        case .rleHeader: return "rle_header"
        case .unreadable: return "unreadable"
        }
    }

    public var description: String {
        switch self {
        case let .sopClassNotAccepted(uid):
            return "SOP Class \(uid) is not an image class analysed here; send US Image or US Multi-frame Image Storage"
        case let .modalityMismatch(modality, uid):
            return "Modality \"\(modality)\" contradicts SOP Class \(uid) (ultrasound); the dataset is not an ultrasound image"
        case .noPixelData:
            return "the dataset has no Pixel Data (7FE0,0010); only images can be analysed"
        case let .missingAttribute(name):
            return "required attribute \(name) is missing or invalid; fix the modality's export"
        case let .tooLarge(samples, ceiling):
            return "the image declares \(samples) samples (rows x columns x frames x samples per pixel), above the ceiling of "
                + "\(ceiling) ([analysis] max_image_megasamples); raise it if such images are real"
        case let .unsupportedPhotometric(value):
            return "Photometric Interpretation \"\(value)\" is not supported; expected MONOCHROME1/2, RGB, YBR_FULL, "
                + "YBR_FULL_422 or PALETTE COLOR"
        case let .unsupportedLayout(reason):
            return "unsupported pixel layout: \(reason)"
        case let .pixelDataLength(expected, actual):
            return "Pixel Data holds \(actual) bytes but Rows x Columns x Samples x Bits x Frames call for \(expected); "
                + "the image attributes or the pixel data are wrong, fix the sender"
        case let .pixelDataEncoding(reason):
            return "pixel data encoding: \(reason)"
        case let .compressedHeader(reason):
            return "\(reason); the compressed frame does not match the image attributes"
        case let .rleHeader(reason):
            return "RLE header, \(reason); the RLE data is corrupt"
        case let .unreadable(reason):
            return "cannot read the pixel data headers (\(reason))"
        }
    }
}
