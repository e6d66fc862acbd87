import Foundation

/// The gateway's durable memory: what was received, what analysis did, what was delivered where.
/// A protocol so a server database can replace SQLite; every call is synchronous and
/// thread-safe (it is called from DICOM worker threads), and a call that returns has committed.
public protocol Ledger: Sendable {
    func containsInstance(sopInstanceUID: String) throws -> Bool
    /// Records a spooled instance and its job in one transaction (the commit that precedes 0000).
    func recordReceived(_ instance: NewInstance, now: Date) throws -> RecordOutcome
    /// Jobs left `analysing` by a crash go back to `received`; returns how many.
    func resetInterruptedJobs(now: Date) throws -> Int
    /// Atomically moves the oldest due `received` job to `analysing`.
    func claimDueJob(now: Date) throws -> JobClaim?
    /// Marks the job analysed and records its objects and their pending deliveries.
    func completeJob(_ id: Int64, objects: [NewObject], analysisSeconds: Double, now: Date) throws
    /// An analysed job whose outbox objects were lost (see `ContentFingerprint`) goes back to
    /// `received`, due now, with `reason`; its deliveries wait until it is analysed again.
    /// False when the job was not `analysed` (another sender sent it back first).
    func redoJob(_ id: Int64, reason: String, now: Date) throws -> Bool
    /// `retryAt` nil: failed for good with `reason`; otherwise back to `received`, due then.
    func failJob(_ id: Int64, reason: String, retryAt: Date?, now: Date) throws
    /// The job's analysis killed or hung its worker: counts it, and quarantines the job at
    /// `quarantineAfter` such failures (never claimed again); otherwise back to `received`, due
    /// at `retryAt`. Returns the job's failure count and whether it is now quarantined.
    func recordWorkerFailure(_ id: Int64, reason: String, quarantineAfter: Int, retryAt: Date, now: Date) throws
        -> (failures: Int, quarantined: Bool)
    /// Records objects of a job that ended without results (the "AI analysis unavailable"
    /// report of a failed or quarantined job) and their pending deliveries; the state stays.
    func attachObjects(_ id: Int64, objects: [NewObject], now: Date) throws
    func nextJobDue() throws -> Date?
    /// Every `received` job waiting for a retry time is due now (analysis resumed after a
    /// pause: their failures were not their images'); returns how many.
    func makeQueuedJobsDue(now: Date) throws -> Int
    func dueDeliveries(destination: String, now: Date, limit: Int) throws -> [DeliveryTask]
    func nextDeliveryDue(destination: String) throws -> Date?
    /// One delivery the destination confirmed; recorded before the next object goes (see
    /// `Deliverer`), so a crash loses no confirmation.
    func markDelivered(_ id: Int64, now: Date) throws
    /// The destination refused the object (its own fault, counted against `max_attempts`):
    /// `retryAt` nil: failed for good; otherwise `failed-retrying`, due then.
    func markDeliveryRefused(_ id: Int64, error: String, retryAt: Date?, now: Date) throws
    /// The destination could not be reached: `failed-retrying` with `error`, still due (it goes
    /// when the destination is back), no refusal counted.
    func markDeliveryUnsent(_ id: Int64, error: String, now: Date) throws
    /// Deliveries not yet made (pending or failed-retrying), per destination.
    func waitingDeliveries() throws -> [String: WaitingDeliveries]
    func instance(sopInstanceUID: String) throws -> StoredInstance?
    func recentJobs(limit: Int) throws -> [JobSummary]
    func job(id: Int64) throws -> JobSummary?
    func counts() throws -> LedgerCounts
}

public enum JobState: String, Sendable, Codable, CaseIterable {
    case received, analysing, analysed, failed
    /// Its analysis killed or hung a worker too often: never analysed again.
    case quarantined
}

public enum DeliveryState: String, Sendable, Codable, CaseIterable {
    case pending, delivered
    case failedRetrying = "failed-retrying"
    /// Gave up after `[delivery] max_attempts`.
    case failed
}

public struct NewInstance: Sendable {
    public var sopInstanceUID: String
    public var sopClassUID: String
    public var studyInstanceUID: String?
    public var callingAETitle: String
    public var transferSyntaxUID: String
    /// Relative to the spool root.
    public var spoolPath: String
    public var sizeBytes: Int64
    /// SHA-256 (hex) of the dataset bytes after the meta header: tells a true duplicate from
    /// another dataset sent under the same SOP Instance UID.
    public var datasetSHA256: String?

    public init(sopInstanceUID: String, sopClassUID: String, studyInstanceUID: String?, callingAETitle: String,
                transferSyntaxUID: String, spoolPath: String, sizeBytes: Int64, datasetSHA256: String? = nil) {
        self.sopInstanceUID = sopInstanceUID
        self.sopClassUID = sopClassUID
        self.studyInstanceUID = studyInstanceUID
        self.callingAETitle = callingAETitle
        self.transferSyntaxUID = transferSyntaxUID
        self.spoolPath = spoolPath
        self.sizeBytes = sizeBytes
        self.datasetSHA256 = datasetSHA256
    }
}

public enum RecordOutcome: Sendable, Equatable {
    case recorded(jobID: Int64)
    /// The SOP Instance UID was already in the ledger; nothing was added.
    case duplicate
}

public struct StoredInstance: Sendable, Equatable {
    public var id: Int64
    public var sopInstanceUID: String
    public var sopClassUID: String
    public var studyInstanceUID: String?
    public var callingAETitle: String
    public var transferSyntaxUID: String
    public var spoolPath: String
    /// nil for instances recorded before the hash was kept (they count as equal to any copy).
    public var datasetSHA256: String?
}

public struct JobClaim: Sendable {
    public var jobID: Int64
    /// Including this one.
    public var attempts: Int
    public var instance: StoredInstance
}

public struct NewObject: Sendable {
    public var kind: OutputKind
    public var fileName: String
    /// Relative to the data directory.
    public var path: String
    public var sopInstanceUID: String?
    /// Names of the destinations that get this object.
    public var destinations: [String]
    /// What the file must hold when it is delivered; nil for a file written durably.
    public var fingerprint: ContentFingerprint?

    public init(kind: OutputKind, fileName: String, path: String, sopInstanceUID: String?, destinations: [String],
                fingerprint: ContentFingerprint? = nil) {
        self.kind = kind
        self.fileName = fileName
        self.path = path
        self.sopInstanceUID = sopInstanceUID
        self.destinations = destinations
        self.fingerprint = fingerprint
    }
}

/// One object due for one destination.
public struct DeliveryTask: Sendable {
    public var id: Int64
    public var jobID: Int64
    public var destination: String
    public var kind: OutputKind
    public var fileName: String
    /// Relative to the data directory.
    public var path: String
    public var sopInstanceUID: String?
    public var sourceSOPInstanceUID: String
    public var studyInstanceUID: String?
    /// Attempts before this one.
    public var attempts: Int
    /// Attempts the destination refused (see `DeliveryOutcome.refused`), against `max_attempts`.
    public var refusals: Int
    /// What the outbox file must hold (nil: written durably, nothing to check).
    public var fingerprint: ContentFingerprint?
}

/// A destination's deliveries not yet made.
public struct WaitingDeliveries: Sendable, Equatable {
    public var count: Int
    /// When the oldest of them was queued.
    public var oldestQueuedAt: Date?

    public init(count: Int, oldestQueuedAt: Date? = nil) {
        self.count = count
        self.oldestQueuedAt = oldestQueuedAt
    }
}

public struct DeliverySummary: Sendable, Codable, Equatable {
    public var destination: String
    public var file: String
    public var kind: String
    public var state: String
    public var attempts: Int
    public var lastError: String?
    public var nextAttemptAt: Date?
    public var deliveredAt: Date?
}

/// A job as the HTTP API shows it: UIDs only as short hashes.
public struct JobSummary: Sendable, Codable, Equatable {
    public var id: Int64
    public var state: String
    public var attempts: Int
    public var reason: String?
    public var instance: String
    public var study: String?
    public var sopClassUID: String
    public var callingAETitle: String
    public var receivedAt: Date
    public var updatedAt: Date
    public var nextAttemptAt: Date?
    public var analysisSeconds: Double?
    public var deliveries: [DeliverySummary]
}

public struct LedgerCounts: Sendable, Equatable {
    public var jobs: [JobState: Int]
    public var deliveries: [DeliveryState: Int]
    /// Failed-retrying or failed deliveries per destination.
    public var failingByDestination: [String: Int]
}
