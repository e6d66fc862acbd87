import Foundation

/// The reading room's part of the ledger: accounts, the AI's result per analysed image, drafts,
/// signed revisions (with their objects and deliveries) and the audit trail. Patient names and
/// IDs are kept here for the worklist only; nothing here is logged.
public protocol ReviewLedger: Sendable {
    func addAccount(name: String, role: ReviewRole, passwordHash: String, now: Date) throws
    func setPassword(name: String, passwordHash: String, now: Date) throws
    func setDisabled(name: String, _ disabled: Bool, now: Date) throws
    func account(name: String) throws -> Account?
    func accounts() throws -> [Account]

    /// What the analysis found for a job, kept for review (an upsert: a job analysed again
    /// replaces the AI's result, never a signed revision).
    func recordReviewItem(_ item: NewReviewItem, now: Date) throws
    func worklist(_ filter: WorklistFilter) throws -> WorklistPage
    func reviewItem(job: Int64) throws -> ReviewItem?
    /// A draft of the edited contours (nil clears it); not signed, nothing delivered.
    func saveDraft(job: Int64, draft: Data?, user: String, now: Date) throws
    /// Records a signed revision in one durable transaction: the revision, its objects and their
    /// deliveries, the item's new state and the audit row. Throws `ReviewLedgerError.revisionConflict`
    /// when someone else signed since `expectedPrevious` was read.
    func recordSignature(_ signature: SignedRevision, expectedPrevious: Int, now: Date) throws
    func audit(user: String, action: String, job: Int64?, detail: String?, now: Date) throws
    func auditTrail(limit: Int, job: Int64?) throws -> [AuditEntry]
}

public enum ReviewRole: String, Sendable, Codable, CaseIterable {
    /// Reviews, corrects and signs.
    case radiologist
    /// Sees the same pages, changes nothing.
    case viewer
    /// Sees everything and the audit trail; signs nothing (signing is a radiologist's act).
    case admin
}

public struct Account: Sendable, Equatable {
    public var name: String
    public var role: ReviewRole
    public var passwordHash: String
    public var disabled: Bool
}

public enum ReviewLedgerError: Error, CustomStringConvertible, Equatable {
    case accountExists(String)
    case noSuchAccount(String)
    case noSuchItem(Int64)
    case revisionConflict(job: Int64, found: Int)

    public var description: String {
        switch self {
        case .accountExists(let n): return "an account named '\(n)' exists already; use `wecare user passwd \(n)` to change its password"
        case .noSuchAccount(let n): return "no account named '\(n)'; create it with `wecare user add \(n) --role radiologist`"
        case .noSuchItem(let j): return "job \(j) has no analysis to review (not analysed yet, failed, or removed by retention)"
        case .revisionConflict(let j, let found):
            return "job \(j) was signed by someone else meanwhile (now revision \(found)); reload the image and sign again"
        }
    }
}

public struct NewReviewItem: Sendable {
    public var jobID: Int64
    public var patientName: String?
    public var patientID: String?
    /// DICOM DA, YYYYMMDD.
    public var studyDate: String?
    public var label: String?
    public var probability: Double?
    /// The AI's `result.json`.
    public var result: Data
    public var aiReportUID: String?
    public var aiReportSeriesUID: String?
    public var producerVersion: String

    public init(jobID: Int64, patientName: String?, patientID: String?, studyDate: String?, label: String?,
                probability: Double?, result: Data, aiReportUID: String?, aiReportSeriesUID: String?, producerVersion: String) {
        self.jobID = jobID
        self.patientName = patientName
        self.patientID = patientID
        self.studyDate = studyDate
        self.label = label
        self.probability = probability
        self.result = result
        self.aiReportUID = aiReportUID
        self.aiReportSeriesUID = aiReportSeriesUID
        self.producerVersion = producerVersion
    }
}

/// What the worklist shows per image. States: analysing, unavailable (failed or quarantined),
/// ready (for review), accepted, corrected, delivered (signed and at every destination).
public enum ReviewState: String, Sendable, Codable, CaseIterable {
    case analysing, unavailable, ready, accepted, corrected, delivered
}

public struct WorklistFilter: Sendable {
    public var state: ReviewState?
    /// Study dates (YYYYMMDD), inclusive.
    public var from: String?
    public var to: String?
    /// 0-based page of `pageSize` rows, newest first.
    public var page: Int
    public var pageSize: Int

    public init(state: ReviewState? = nil, from: String? = nil, to: String? = nil, page: Int = 0, pageSize: Int = 50) {
        self.state = state
        self.from = from
        self.to = to
        self.page = page
        self.pageSize = pageSize
    }
}

public struct WorklistRow: Sendable, Codable, Equatable {
    public var job: Int64
    public var patientName: String?
    public var patientID: String?
    public var studyDate: String?
    public var label: String?
    public var probability: Double?
    public var state: ReviewState
    public var revision: Int
    /// accepted or corrected once signed (also when the state shows "delivered"); nil before.
    public var outcome: ReviewState?
    public var receivedAt: Date

    enum CodingKeys: String, CodingKey {
        case job, label, probability, state, revision, outcome
        case patientName = "patient_name", patientID = "patient_id", studyDate = "study_date", receivedAt = "received_at"
    }
}

public struct WorklistPage: Sendable, Codable, Equatable {
    public var rows: [WorklistRow]
    public var page: Int
    public var pageSize: Int
    public var total: Int

    enum CodingKeys: String, CodingKey {
        case rows, page, total
        case pageSize = "page_size"
    }
}

public struct ReviewItem: Sendable {
    public var row: WorklistRow
    public var result: Data
    public var aiReportUID: String?
    public var aiReportSeriesUID: String?
    public var producerVersion: String
    public var draft: Data?
    /// The current signed revision's result.json; nil before the first signature.
    public var signedDocument: Data?
    public var sopInstanceUID: String
    public var sopClassUID: String
    public var studyInstanceUID: String?
    /// Relative to the spool; nil once retention removed the image.
    public var spoolPath: String?
}

public struct SignedRevision: Sendable {
    public var jobID: Int64
    public var revision: Int
    public var user: String
    /// `accepted` (the AI's outline unchanged) or `corrected`.
    public var outcome: ReviewState
    /// The revision's result.json (the signed contours, class and measurements).
    public var document: Data
    public var objects: [NewObject]
    /// What changed, for the audit trail (no patient data).
    public var auditDetail: String

    public init(jobID: Int64, revision: Int, user: String, outcome: ReviewState, document: Data, objects: [NewObject],
                auditDetail: String) {
        self.jobID = jobID
        self.revision = revision
        self.user = user
        self.outcome = outcome
        self.document = document
        self.objects = objects
        self.auditDetail = auditDetail
    }
}

public struct AuditEntry: Sendable, Codable, Equatable {
    public var at: Date
    public var user: String
    public var action: String
    public var job: Int64?
    public var detail: String?
}
