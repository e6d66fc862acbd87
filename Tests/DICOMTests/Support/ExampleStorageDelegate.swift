import DICOM
import Foundation

/// A tiny delegate as a gateway would write one: known calling AEs only, our own called AE only,
/// each object into `directory/<SOP Instance UID>.dcm`, A900 when the dataset disagrees with the
/// command, C000 when it cannot be read back. Records what happened for the tests.
final class ExampleStorageDelegate: StorageSCPDelegate, @unchecked Sendable {
    let aeTitle: String
    let knownCallingAETitles: Set<String>
    let directory: URL
    /// When set, every store is drained and answered with this status.
    var discardStatus: DIMSEStatus?
    /// Sent as the Error Comment with `discardStatus`.
    var discardComment: String?
    /// Signalled when a store request arrives; the store then waits for `releaseStores` if `holdStores`.
    let storeArrived = DispatchSemaphore(value: 0)
    let releaseStores = DispatchSemaphore(value: 0)
    var holdStores = false

    private let lock = NSLock()
    private var _requests: [AssociationRequest] = []
    private var _received: [(command: StoreCommand, dataset: ReceivedDataset?, status: DIMSEStatus)] = []
    private var _ended: [(id: UInt64, end: AssociationEnd)] = []
    private var _failures: [ConnectionFailure] = []
    private var _storeRequests = 0
    /// Signalled for each reported connection failure.
    let connectionFailedSignal = DispatchSemaphore(value: 0)

    init(aeTitle: String, knownCallingAETitles: Set<String>, directory: URL) {
        self.aeTitle = aeTitle
        self.knownCallingAETitles = knownCallingAETitles
        self.directory = directory
    }

    var requests: [AssociationRequest] { lock.withLock { _requests } }
    var received: [(command: StoreCommand, dataset: ReceivedDataset?, status: DIMSEStatus)] { lock.withLock { _received } }
    var ended: [(id: UInt64, end: AssociationEnd)] { lock.withLock { _ended } }
    var failures: [ConnectionFailure] { lock.withLock { _failures } }
    var storeRequestCount: Int { lock.withLock { _storeRequests } }

    func associationRequested(_ request: AssociationRequest) -> AssociationRejection? {
        lock.withLock { _requests.append(request) }
        if request.calledAETitle != aeTitle { return .calledAETitleNotRecognized }
        if !knownCallingAETitles.contains(request.callingAETitle) { return .callingAETitleNotRecognized }
        return nil
    }

    func storeRequested(_ command: StoreCommand) -> StoreDisposition {
        lock.withLock { _storeRequests += 1 }
        storeArrived.signal()
        if holdStores { releaseStores.wait() }
        if let discardStatus { return .discard(StoreAnswer(discardStatus, comment: discardComment)) }
        return .receive(into: directory.appendingPathComponent("\(command.affectedSOPInstanceUID).dcm"))
    }

    func storeReceived(_ command: StoreCommand, dataset: ReceivedDataset?, error: String?) -> StoreAnswer {
        let status: DIMSEStatus
        if let dataset, let sopClass = dataset.sopClassUID, let sopInstance = dataset.sopInstanceUID {
            status = sopClass == command.affectedSOPClassUID && sopInstance == command.affectedSOPInstanceUID
                ? .success : .dataSetDoesNotMatchSOPClass
        } else {
            status = dataset == nil ? .outOfResources : .cannotUnderstand
        }
        lock.withLock { _received.append((command, dataset, status)) }
        return StoreAnswer(status)
    }

    func associationEnded(id: UInt64, callingAETitle: String, end: AssociationEnd) {
        lock.withLock { _ended.append((id, end)) }
    }

    func connectionFailed(_ failure: ConnectionFailure) {
        lock.withLock { _failures.append(failure) }
        connectionFailedSignal.signal()
    }
}
