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
    /// The shim drains the dataset without writing anything to disk and answers this.
    case discard(StoreAnswer)
}

/// A dataset the shim wrote, with what `InstanceValidator` found in it: nothing parsed the file
/// before this scan, and nothing should parse a file whose scan failed.
public struct ReceivedDataset: Sendable {
    public var file: URL
    /// The structure check: the top-level attributes, or why the file was refused.
    public var scan: Result<DatasetScan, DatasetScanError>
    /// The image checks' verdict on a sound structure; nil when they passed or did not run.
    public var imageFailure: ImageCheckFailure?

    public init(file: URL, scan: Result<DatasetScan, DatasetScanError>, imageFailure: ImageCheckFailure? = nil) {
        self.file = file
        self.scan = scan
        self.imageFailure = imageFailure
    }

    /// From the scanned dataset; nil when it could not be scanned or has none.
    public var sopClassUID: String? { try? scan.get().attributes.sopClassUID }
    public var sopInstanceUID: String? { try? scan.get().attributes.sopInstanceUID }
    public var studyInstanceUID: String? { try? scan.get().attributes.studyInstanceUID }
}

/// The decisions of a Storage SCP. Called from DCMTK worker threads, several at once.
public protocol StorageSCPDelegate: AnyObject, Sendable {
    /// nil accepts the association.
    func associationRequested(_ request: AssociationRequest) -> AssociationRejection?
    /// Before the dataset is received.
    func storeRequested(_ command: StoreCommand) -> StoreDisposition
    /// After `.receive`: `dataset` is nil and `error` says why when writing failed. Decide the answer.
    func storeReceived(_ command: StoreCommand, dataset: ReceivedDataset?, error: String?) -> StoreAnswer
    /// Exactly once for every association `associationRequested` accepted, however it ended
    /// (DCMTK may still refuse it afterwards, e.g. when no presentation context fits).
    func associationEnded(id: UInt64, callingAETitle: String, end: AssociationEnd)
    /// Once for every connection that ended before `associationRequested` could be asked (closed,
    /// cut at its deadline, failed TLS, malformed PDU) or that the SCP refused for its limits.
    /// Called from the listener or a handshake thread.
    func connectionFailed(_ failure: ConnectionFailure)
}
