import Foundation

/// One C-STORE request as the command set announced it, before or after its dataset arrived.
public struct StoreCommand: Sendable {
    public var callingAETitle: String
    public var peerAddress: String
    public var affectedSOPClassUID: String
    public var affectedSOPInstanceUID: String
    /// Transfer syntax of the accepted presentation context the dataset travels in.
    public var transferSyntaxUID: String
    /// Unique per association within one StorageSCP.
    public var associationID: UInt64

    public init(callingAETitle: String, peerAddress: String, affectedSOPClassUID: String,
                affectedSOPInstanceUID: String, transferSyntaxUID: String, associationID: UInt64) {
        self.callingAETitle = callingAETitle
        self.peerAddress = peerAddress
        self.affectedSOPClassUID = affectedSOPClassUID
        self.affectedSOPInstanceUID = affectedSOPInstanceUID
        self.transferSyntaxUID = transferSyntaxUID
        self.associationID = associationID
    }
}

/// What to do with an incoming dataset, decided before it is received.
public enum StoreDisposition: Sendable {
    /// The shim writes the dataset there as a DICOM Part 10 file (meta header + dataset bytes
    /// as received, transfer syntax unchanged). The directory must exist.
    case receive(into: URL)
    /// The shim drains the dataset without writing anything to disk and answers this status.
    case discard(DIMSEStatus)
}

/// A dataset the shim wrote, with the UIDs read back from the file.
public struct ReceivedDataset: Sendable {
    public var file: URL
    /// Read back from the written dataset; nil when it cannot be parsed.
    public var sopClassUID: String?
    public var sopInstanceUID: String?
    /// Read back with them; nil when the dataset has none.
    public var studyInstanceUID: String?

    public init(file: URL, sopClassUID: String?, sopInstanceUID: String?, studyInstanceUID: String? = nil) {
        self.file = file
        self.sopClassUID = sopClassUID
        self.sopInstanceUID = sopInstanceUID
        self.studyInstanceUID = studyInstanceUID
    }
}

/// The decisions of a Storage SCP. Called from DCMTK worker threads, several at once.
public protocol StorageSCPDelegate: AnyObject, Sendable {
    /// nil accepts the association.
    func associationRequested(_ request: AssociationRequest) -> AssociationRejection?
    /// Before the dataset is received.
    func storeRequested(_ command: StoreCommand) -> StoreDisposition
    /// After `.receive`: `dataset` is nil and `error` says why when writing failed. Decide the status.
    func storeReceived(_ command: StoreCommand, dataset: ReceivedDataset?, error: String?) -> DIMSEStatus
    /// Exactly once for every association `associationRequested` accepted, however it ended
    /// (DCMTK may still refuse it afterwards, e.g. when no presentation context fits).
    func associationEnded(id: UInt64, callingAETitle: String, end: AssociationEnd)
    /// Once for every connection that ended before `associationRequested` could be asked (closed,
    /// cut at its deadline, failed TLS, malformed PDU) or that the SCP refused for its limits.
    /// Called from the listener or a handshake thread.
    func connectionFailed(_ failure: ConnectionFailure)
}
