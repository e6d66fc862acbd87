import Foundation
import GRDB

extension SQLiteLedger: ReviewLedger {
    public func addAccount(name: String, role: ReviewRole, passwordHash: String, now: Date) throws {
        try write(.durable) { db in
            try db.run("INSERT OR IGNORE INTO users (name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                       [name, role.rawValue, passwordHash, now.timeIntervalSince1970, now.timeIntervalSince1970])
            guard db.changesCount == 1 else { throw ReviewLedgerError.accountExists(name) }
        }
    }

    public func setPassword(name: String, passwordHash: String, now: Date) throws {
        try write(.durable) { db in
            try db.run("UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?", [passwordHash, now.timeIntervalSince1970, name])
            guard db.changesCount == 1 else { throw ReviewLedgerError.noSuchAccount(name) }
        }
    }

    public func setDisabled(name: String, _ disabled: Bool, now: Date) throws {
        try write(.durable) { db in
            try db.run("UPDATE users SET disabled = ?, updated_at = ? WHERE name = ?", [disabled, now.timeIntervalSince1970, name])
            guard db.changesCount == 1 else { throw ReviewLedgerError.noSuchAccount(name) }
        }
    }

    public func account(name: String) throws -> Account? {
        try readOne { db in try db.row("SELECT * FROM users WHERE name = ?", [name]).map(Self.account) }
    }

    public func accounts() throws -> [Account] {
        try readOne { db in try db.rows("SELECT * FROM users ORDER BY name").map(Self.account) }
    }

    private static func account(_ row: Row) -> Account {
        Account(name: row["name"], role: ReviewRole(rawValue: row["role"]) ?? .viewer, passwordHash: row["password_hash"],
                disabled: row["disabled"])
    }

    public func recordReviewItem(_ i: NewReviewItem, now: Date) throws {
        try write(.redoable) { db in
            // A job analysed again (lost outbox objects) gets the same result; signed state stays.
            try db.run("""
                INSERT INTO review_items (job_id, patient_name, patient_id, study_date, label, probability, result_json,
                  ai_sr_uid, ai_sr_series_uid, producer_version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(job_id) DO UPDATE SET result_json = excluded.result_json, label = excluded.label,
                  probability = excluded.probability, ai_sr_uid = excluded.ai_sr_uid, ai_sr_series_uid = excluded.ai_sr_series_uid,
                  producer_version = excluded.producer_version, updated_at = excluded.updated_at
                """, [i.jobID, i.patientName, i.patientID, i.studyDate, i.label, i.probability, i.result,
                      i.aiReportUID, i.aiReportSeriesUID, i.producerVersion, now.timeIntervalSince1970])
        }
    }

    /// The state a row shows: "analysing" until it is analysed, then the review's, and
    /// "delivered" once a signed revision's every delivery is made; "unavailable" for a job that
    /// failed, was quarantined, or was analysed before the reading room was on (nothing kept).
    private static let stateSQL = """
        CASE
          WHEN r.job_id IS NULL AND j.state IN ('received', 'analysing') THEN 'analysing'
          WHEN r.job_id IS NULL THEN 'unavailable'
          WHEN r.revision > 0 AND EXISTS (SELECT 1 FROM objects o JOIN deliveries d ON d.object_id = o.id
                 WHERE o.job_id = j.id AND o.file_name LIKE 'r' || r.revision || '-%')
               AND NOT EXISTS (SELECT 1 FROM objects o JOIN deliveries d ON d.object_id = o.id
                 WHERE o.job_id = j.id AND o.file_name LIKE 'r' || r.revision || '-%' AND d.state != 'delivered')
            THEN 'delivered'
          ELSE r.state
        END
        """

    private static let worklistSQL = """
        SELECT j.id AS job, r.patient_name, r.patient_id, r.study_date, r.label, r.probability, COALESCE(r.revision, 0) AS revision,
               CASE WHEN r.revision > 0 THEN r.state END AS outcome,
               i.received_at, \(stateSQL) AS shown_state
        FROM jobs j JOIN instances i ON i.id = j.instance_id LEFT JOIN review_items r ON r.job_id = j.id
        """

    public func worklist(_ f: WorklistFilter) throws -> WorklistPage {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let state = f.state { conditions.append("shown_state = ?"); arguments.append(state.rawValue) }
        if let from = f.from { conditions.append("study_date >= ?"); arguments.append(from) }
        if let to = f.to { conditions.append("study_date <= ?"); arguments.append(to) }
        let filtered = "SELECT * FROM (\(Self.worklistSQL))" + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
        let size = max(1, min(f.pageSize, 500))
        return try pool.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (\(filtered))", arguments: StatementArguments(arguments)) ?? 0
            let rows = try Row.fetchAll(db, sql: filtered + " ORDER BY job DESC LIMIT ? OFFSET ?",
                                        arguments: StatementArguments(arguments + [size, max(0, f.page) * size]))
            return WorklistPage(rows: rows.map(Self.worklistRow), page: max(0, f.page), pageSize: size, total: total)
        }
    }

    private static func worklistRow(_ row: Row) -> WorklistRow {
        WorklistRow(job: row["job"], patientName: row["patient_name"], patientID: row["patient_id"], studyDate: row["study_date"],
                    label: row["label"], probability: row["probability"],
                    state: ReviewState(rawValue: row["shown_state"]) ?? .analysing, revision: row["revision"],
                    outcome: (row["outcome"] as String?).flatMap(ReviewState.init(rawValue:)),
                    receivedAt: Date(timeIntervalSince1970: row["received_at"]))
    }

    public func reviewItem(job: Int64) throws -> ReviewItem? {
        try pool.read { db in
            guard let row = try db.row(Self.worklistSQL + " WHERE j.id = ?", [job]),
                  let extra = try db.row("""
                    SELECT r.result_json, r.ai_sr_uid, r.ai_sr_series_uid, r.producer_version, r.draft,
                           (SELECT v.document FROM revisions v WHERE v.job_id = r.job_id AND v.revision = r.revision) AS signed,
                           i.sop_instance_uid,
                           i.sop_class_uid, i.study_instance_uid, i.spool_path, i.spool_removed_at
                    FROM review_items r JOIN jobs j ON j.id = r.job_id JOIN instances i ON i.id = j.instance_id WHERE r.job_id = ?
                    """, [job]) else { return nil }
            let removed: Double? = extra["spool_removed_at"]
            return ReviewItem(row: Self.worklistRow(row), result: extra["result_json"], aiReportUID: extra["ai_sr_uid"],
                              aiReportSeriesUID: extra["ai_sr_series_uid"], producerVersion: extra["producer_version"],
                              draft: extra["draft"], signedDocument: extra["signed"], sopInstanceUID: extra["sop_instance_uid"], sopClassUID: extra["sop_class_uid"],
                              studyInstanceUID: extra["study_instance_uid"], spoolPath: removed == nil ? extra["spool_path"] : nil)
        }
    }

    public func saveDraft(job: Int64, draft: Data?, user: String, now: Date) throws {
        try write(.redoable) { db in
            try db.run("UPDATE review_items SET draft = ?, updated_at = ? WHERE job_id = ?", [draft, now.timeIntervalSince1970, job])
            guard db.changesCount == 1 else { throw ReviewLedgerError.noSuchItem(job) }
            try Self.insertAudit(db, user: user, action: "save", job: job, detail: draft == nil ? "draft cleared" : "draft saved",
                                 now: now)
        }
    }

    public func recordSignature(_ s: SignedRevision, expectedPrevious: Int, now: Date) throws {
        // Durable: the page says "signed" only after this returns, and a signature must survive a power cut.
        try write(.durable) { db in
            let current = try db.value(Int.self, "SELECT revision FROM review_items WHERE job_id = ?", [s.jobID])
            guard let current else { throw ReviewLedgerError.noSuchItem(s.jobID) }
            guard current == expectedPrevious else { throw ReviewLedgerError.revisionConflict(job: s.jobID, found: current) }
            let t = now.timeIntervalSince1970
            try db.run("INSERT INTO revisions (job_id, revision, user, outcome, document, signed_at) VALUES (?, ?, ?, ?, ?, ?)",
                       [s.jobID, s.revision, s.user, s.outcome.rawValue, s.document, t])
            try db.run("UPDATE review_items SET state = ?, revision = ?, draft = NULL, updated_at = ? WHERE job_id = ?",
                       [s.outcome.rawValue, s.revision, t, s.jobID])
            try Self.insert(s.objects, of: s.jobID, db, now: t)
            try Self.insertAudit(db, user: s.user, action: "sign", job: s.jobID, detail: s.auditDetail, now: now)
        }
    }

    public func audit(user: String, action: String, job: Int64?, detail: String?, now: Date) throws {
        try write(.redoable) { db in try Self.insertAudit(db, user: user, action: action, job: job, detail: detail, now: now) }
    }

    private static func insertAudit(_ db: Database, user: String, action: String, job: Int64?, detail: String?, now: Date) throws {
        try db.run("INSERT INTO audit (at, user, action, job_id, detail) VALUES (?, ?, ?, ?, ?)",
                   [now.timeIntervalSince1970, user, action, job, detail])
    }

    public func auditTrail(limit: Int, job: Int64?) throws -> [AuditEntry] {
        try readOne { db in
            let rows = job == nil
                ? try db.rows("SELECT * FROM audit ORDER BY id DESC LIMIT ?", [limit])
                : try db.rows("SELECT * FROM audit WHERE job_id = ? ORDER BY id DESC LIMIT ?", [job, limit])
            return rows.map { r in
                AuditEntry(at: Date(timeIntervalSince1970: r["at"]), user: r["user"], action: r["action"], job: r["job_id"],
                           detail: r["detail"])
            }
        }
    }
}
