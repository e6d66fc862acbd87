import DICOM

/// Why a received dataset is not kept, with the status the modality hears: the scan and the
/// image checks ran on the file before anything parsed it (`ReceivedDataset`).
/// A900 when the dataset is not what the command announced (its SOP class or UIDs differ, or
/// its SOP class or Modality is not an accepted ultrasound image); C000 ("cannot understand")
/// for structure and pixel problems.
/// Both are failures: the modality keeps its copy, and a retry cannot succeed unchanged.
struct StoreRefusal: Error, Equatable {
    var status: DIMSEStatus
    /// Metric label (`wecare_instances_refused_total{reason=...}`).
    var reason: String
    /// For the log line; names no patient data and no UID.
    var message: String

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
