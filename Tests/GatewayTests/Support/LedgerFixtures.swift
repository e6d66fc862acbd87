@testable import Gateway

extension NewInstance {
    /// A received US image as the ledger tests record it: only the SOP Instance UID varies.
    static func example(_ uid: String) -> NewInstance {
        NewInstance(sopInstanceUID: uid, sopClassUID: "1.2.840.10008.5.1.4.1.1.6.1", studyInstanceUID: "1.2.3",
                    callingAETitle: "US_ROOM1", transferSyntaxUID: "1.2.840.10008.1.2.1", spoolPath: "aa/\(uid).dcm", sizeBytes: 10)
    }
}
