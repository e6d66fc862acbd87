import DICOM

/// Why a received dataset is not kept, with the status the modality hears: the scan and the
/// image checks ran on the file before anything parsed it (`ReceivedDataset`).
/// A900 when the dataset is not what the command announced (its SOP class or UIDs differ, or
/// its SOP class or Modality is not an accepted ultrasound image); C000 ("cannot understand")
/// for structure and pixel problems and for a second dataset under a known SOP Instance UID.
/// Both are failures: the modality keeps its copy, and a retry cannot succeed unchanged.
struct StoreRefusal: Error, Equatable {
    var status: DIMSEStatus
    /// Metric label (`wecare_instances_refused_total{reason=...}`).
    var reason: String
    /// For the log line; names no patient data and no UID.
    var message: String

    /// What the modality's operator reads in the response's Error Comment (LO: at most 64
    /// characters, no UID, no patient data); the log line has the longer `message`.
    var comment: String {
        switch reason {
        case "not_dicom": return "refused: not a DICOM dataset"
        case "meta_header": return "refused: invalid file meta information"
        case "truncated": return "refused: the dataset ends before its last element"
        case "length_overrun": return "refused: an element overruns its sequence or item"
        case "nesting_depth": return "refused: sequences nested too deep"
        case "element_count": return "refused: too many elements"
        case "trailing_bytes": return "refused: bytes after the last element"
        case "inflated_size": return "refused: the deflated dataset inflates too large"
        case "missing_uid": return "refused: no SOP Class or SOP Instance UID"
        case "uid_mismatch": return "refused: dataset UIDs differ from the C-STORE command"
        case "content_conflict": return "refused: other content already stored under this UID"
        case "sop_class": return "refused: send US Image or US Multi-frame Image Storage"
        case "modality": return "refused: Modality contradicts the ultrasound SOP Class"
        case "no_pixel_data": return "refused: no Pixel Data"
        case "missing_attribute": return "refused: a required image attribute is missing"
        case "image_too_large": return "refused: image larger than the gateway accepts"
        case "pixel_layout": return "refused: unsupported pixel layout or photometric"
        case "pixel_data_length": return "refused: Pixel Data length does not fit the image"
        case "pixel_data_encoding": return "refused: invalid Pixel Data encoding"
        case "compressed_header": return "refused: frame header contradicts Rows/Columns"
        case "rle_header": return "refused: invalid RLE frame header"
        default: return "refused: " + reason.replacingOccurrences(of: "_", with: " ")
        }
    }

    var answer: StoreAnswer { StoreAnswer(status, comment: comment) }

    /// A dataset already received under the same SOP Instance UID has other content. Refused
    /// rather than acknowledged: 0000 would tell the modality its image is stored when it is
    /// not, and keeping both would analyse and deliver two different images under one UID.
    /// C000, not A900 (the SOP class is fine) nor A7xx (a retry would meet the same conflict).
    static let contentConflict = StoreRefusal(
        status: .cannotUnderstand, reason: "content_conflict",
        message: "another dataset was already received under this SOP Instance UID; the first one is kept, "
            + "have the modality send the new image under a new SOP Instance UID")

    /// The dataset's scan once it may be stored: sound structure, UIDs equal to the command's,
    /// image checks passed.
    static func check(_ command: StoreCommand, _ dataset: ReceivedDataset) -> Result<DatasetScan, StoreRefusal> {
        let scan: DatasetScan
        switch dataset.scan {
        case .failure(let error):
            return .failure(StoreRefusal(status: .cannotUnderstand, reason: error.label, message: error.description))
        case .success(let s):
            scan = s
        }
        guard let instance = scan.attributes.sopInstanceUID, let sopClass = scan.attributes.sopClassUID,
              !instance.isEmpty, !sopClass.isEmpty else {
            return .failure(StoreRefusal(status: .cannotUnderstand, reason: "missing_uid",
                                         message: "the dataset has no SOP Class or SOP Instance UID"))
        }
        guard instance == command.affectedSOPInstanceUID, sopClass == command.affectedSOPClassUID else {
            return .failure(StoreRefusal(status: .dataSetDoesNotMatchSOPClass, reason: "uid_mismatch",
                                         message: "the dataset's SOP Class or Instance UID differs from the C-STORE command's"))
        }
        if let failure = dataset.imageFailure {
            return .failure(StoreRefusal(status: failure.contradictsSOPClass ? .dataSetDoesNotMatchSOPClass : .cannotUnderstand,
                                         reason: failure.label, message: failure.description))
        }
        return .success(scan)
    }
}
