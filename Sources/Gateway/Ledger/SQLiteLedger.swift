import Foundation
import GRDB

/// The ledger in SQLite (GRDB), in WAL mode. Recording a received instance commits with
/// synchronous=FULL: the modality hears 0000 only after that row is on disk. Every other step
/// (claim, analysed, delivered, failed) commits without its own fsync: a power cut can undo
/// only a suffix of those steps (the WAL is ordered, and the next FULL commit syncs all before
/// it), and each undone step is redone safely: a job analysed again writes the same objects
/// with the same UIDs, a delivery sent again replaces the same instance at the PACS.
public final class SQLiteLedger: Ledger, @unchecked Sendable {
    // DatabasePool is itself thread-safe; @unchecked because it is a class GRDB does not mark.
    let pool: DatabasePool

    public init(path: URL) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        configuration.busyMode = .timeout(30)
        pool = try DatabasePool(path: path.path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    /// Every schema step, in order; `LedgerCheck` compares a ledger file's applied ones with them.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE instances (
                  id INTEGER PRIMARY KEY,
                  sop_instance_uid TEXT NOT NULL UNIQUE,
                  sop_class_uid TEXT NOT NULL,
                  study_instance_uid TEXT,
                  calling_ae_title TEXT NOT NULL,
                  transfer_syntax_uid TEXT NOT NULL,
                  spool_path TEXT NOT NULL,
                  size_bytes INTEGER NOT NULL,
                  received_at REAL NOT NULL);
                CREATE TABLE jobs (
                  id INTEGER PRIMARY KEY,
                  instance_id INTEGER NOT NULL UNIQUE REFERENCES instances(id),
                  state TEXT NOT NULL,
                  reason TEXT,
                  attempts INTEGER NOT NULL DEFAULT 0,
                  next_attempt_at REAL,
                  created_at REAL NOT NULL,
                  updated_at REAL NOT NULL,
                  analysis_seconds REAL);
                CREATE INDEX jobs_due ON jobs(state, next_attempt_at);
                CREATE TABLE objects (
                  id INTEGER PRIMARY KEY,
                  job_id INTEGER NOT NULL REFERENCES jobs(id),
                  kind TEXT NOT NULL,
                  file_name TEXT NOT NULL,
                  path TEXT NOT NULL,
                  sop_instance_uid TEXT,
                  UNIQUE(job_id, file_name));
                CREATE TABLE deliveries (
                  id INTEGER PRIMARY KEY,
                  object_id INTEGER NOT NULL REFERENCES objects(id),
                  destination TEXT NOT NULL,
                  state TEXT NOT NULL,
                  attempts INTEGER NOT NULL DEFAULT 0,
                  next_attempt_at REAL,
                  last_error TEXT,
                  delivered_at REAL,
                  UNIQUE(object_id, destination));
                CREATE INDEX deliveries_due ON deliveries(destination, state, next_attempt_at);
                """)
        }
        // Outbox objects written without fsync carry their fingerprint; NULL for durable ones.
        m.registerMigration("v2 object fingerprints") { db in
            try db.execute(sql: """
                ALTER TABLE objects ADD COLUMN size_bytes INTEGER;
                ALTER TABLE objects ADD COLUMN content_hash INTEGER;
                """)
        }
        // Analyses that killed or hung their worker process, per job (quarantine at a limit).
        m.registerMigration("v3 worker failures") { db in
            try db.execute(sql: "ALTER TABLE jobs ADD COLUMN worker_failures INTEGER NOT NULL DEFAULT 0")
        }
        // Retention: when a job's last result was delivered, and when its image left the spool;
        // and an index for /metrics' per-state counts, which a month of rows made a table scan.
        m.registerMigration("retention: finished_at, spool_removed_at") { db in
            try db.execute(sql: """
                ALTER TABLE jobs ADD COLUMN finished_at REAL;
                ALTER TABLE instances ADD COLUMN spool_removed_at REAL;
                CREATE INDEX jobs_finished ON jobs(finished_at);
                CREATE INDEX jobs_unfinished ON jobs(state) WHERE finished_at IS NULL;
                CREATE INDEX instances_in_spool ON instances(received_at, size_bytes) WHERE spool_removed_at IS NULL;
                CREATE INDEX instances_spool_path ON instances(spool_path);
                CREATE INDEX deliveries_state ON deliveries(state, destination);
                """)
        }
        // The dataset's SHA-256 (hex), so a second dataset under a known SOP Instance UID can be
        // told from a true duplicate; NULL for rows received before (treated as equal).
        m.registerMigration("instance-content-hash") { db in
            try db.execute(sql: "ALTER TABLE instances ADD COLUMN dataset_sha256 TEXT")
        }
        // Job objects moved from outbox/<job>/ to outbox/jobs/<job>/ (see `LegacyOutboxLayout`).
        m.registerMigration("v4 outbox/jobs") { db in
            try db.execute(sql: """
                UPDATE objects SET path = 'outbox/jobs/' || job_id || '/' || file_name
                  WHERE path = 'outbox/' || job_id || '/' || file_name
                """)
        }
        // Deliveries count the refusals that count against max_attempts apart from attempts
        // that found the destination down, and know when they were queued.
        m.registerMigration("v5 refusals, queued_at") { db in
            try db.execute(sql: """
                ALTER TABLE deliveries ADD COLUMN refusals INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE deliveries ADD COLUMN queued_at REAL;
                UPDATE deliveries SET queued_at = (SELECT j.created_at FROM objects o JOIN jobs j ON j.id = o.job_id
                                                   WHERE o.id = deliveries.object_id);
                """)
        }
        // The reading room: accounts, what the AI found per image (for the worklist and viewer),
        // signed revisions and the audit trail. IF NOT EXISTS: a ledger taken back to an earlier
        // schema by hand (tests do) keeps these tables while forgetting this step.
        m.registerMigration("v6 reading room") { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS users (
                  id INTEGER PRIMARY KEY,
                  name TEXT NOT NULL UNIQUE,
                  role TEXT NOT NULL,
                  password_hash TEXT NOT NULL,
                  disabled INTEGER NOT NULL DEFAULT 0,
                  created_at REAL NOT NULL,
                  updated_at REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS review_items (
                  job_id INTEGER PRIMARY KEY REFERENCES jobs(id),
                  patient_name TEXT,
                  patient_id TEXT,
                  study_date TEXT,
                  label TEXT,
                  probability REAL,
                  result_json BLOB NOT NULL,
                  ai_sr_uid TEXT,
                  ai_sr_series_uid TEXT,
                  producer_version TEXT NOT NULL,
                  state TEXT NOT NULL DEFAULT 'ready',
                  revision INTEGER NOT NULL DEFAULT 0,
                  draft BLOB,
                  updated_at REAL NOT NULL);
                CREATE INDEX IF NOT EXISTS review_items_state ON review_items(state, study_date);
                CREATE TABLE IF NOT EXISTS revisions (
                  id INTEGER PRIMARY KEY,
                  job_id INTEGER NOT NULL REFERENCES jobs(id),
                  revision INTEGER NOT NULL,
                  user TEXT NOT NULL,
                  outcome TEXT NOT NULL,
                  document BLOB NOT NULL,
                  signed_at REAL NOT NULL,
                  UNIQUE(job_id, revision));
                CREATE TABLE IF NOT EXISTS audit (
                  id INTEGER PRIMARY KEY,
                  at REAL NOT NULL,
                  user TEXT NOT NULL,
                  action TEXT NOT NULL,
                  job_id INTEGER,
                  detail TEXT);
                CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
                """)
        }
        return m
    }

    /// How a write transaction commits.
    enum Commit {
        /// synchronous=FULL: on disk when the commit returns (the WAL is fsynced).
        case durable
        /// synchronous=NORMAL: no fsync of its own; a power cut may undo it, and undoing it is
        /// safe (see the type's comment).
        case redoable
    }

    /// Every write sets its own level: GRDB's pool switches its writer to synchronous=NORMAL
    /// when it enables WAL, after `prepareDatabase`, so a level set once at open does not hold.
    func write<T>(_ commit: Commit, _ body: (Database) throws -> T) throws -> T {
        try pool.writeWithoutTransaction { db in
            try db.run(commit == .durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }

    /// The writer's current `PRAGMA synchronous` (1 NORMAL, 2 FULL): the level of the last write.
    func writerSynchronousLevel() throws -> Int {
        try pool.writeWithoutTransaction { db in try db.value(Int.self, "PRAGMA synchronous") ?? -1 }
    }

    /// For a single SELECT, which SQLite runs atomically by itself: without the snapshot
    /// transaction (BEGIN ... COMMIT) that `pool.read` wraps around several statements.
    func readOne<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.unsafeRead(body)
    }

    public func containsInstance(sopInstanceUID: String) throws -> Bool {
        try readOne { db in
            try db.value(Bool.self, "SELECT EXISTS(SELECT 1 FROM instances WHERE sop_instance_uid = ?)", [sopInstanceUID]) ?? false
        }
    }

    public func recordReceived(_ i: NewInstance, now: Date) throws -> RecordOutcome {
        try write(.durable) { db in
            try db.run("""
                INSERT OR IGNORE INTO instances (sop_instance_uid, sop_class_uid, study_instance_uid, calling_ae_title,
                  transfer_syntax_uid, spool_path, size_bytes, received_at, dataset_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [i.sopInstanceUID, i.sopClassUID, i.studyInstanceUID, i.callingAETitle,
                    i.transferSyntaxUID, i.spoolPath, i.sizeBytes, now.timeIntervalSince1970, i.datasetSHA256])
            guard db.changesCount == 1 else { return .duplicate }
            let instanceID = db.lastInsertedRowID
            let t = now.timeIntervalSince1970
            try db.run("""
                INSERT INTO jobs (instance_id, state, attempts, next_attempt_at, created_at, updated_at)
                VALUES (?, 'received', 0, ?, ?, ?)
                """, [instanceID, t, t, t])
            return .recorded(jobID: db.lastInsertedRowID)
        }
    }

    public func resetInterruptedJobs(now: Date) throws -> Int {
        try write(.redoable) { db in
            try db.run("UPDATE jobs SET state = 'received', next_attempt_at = ?, updated_at = ? WHERE state = 'analysing'",
                       [now.timeIntervalSince1970, now.timeIntervalSince1970])
            return db.changesCount
        }
    }

    public func claimDueJob(now: Date) throws -> JobClaim? {
        try write(.redoable) { db in
            guard let row = try db.row("""
                SELECT j.id AS job_id, j.attempts, i.* FROM jobs j JOIN instances i ON i.id = j.instance_id
                WHERE j.state = 'received' AND j.next_attempt_at <= ? ORDER BY j.next_attempt_at, j.id LIMIT 1
                """, [now.timeIntervalSince1970]) else { return nil }
            let jobID: Int64 = row["job_id"]
            let attempts: Int = row["attempts"]
            try db.run("UPDATE jobs SET state = 'analysing', attempts = attempts + 1, updated_at = ? WHERE id = ?",
                       [now.timeIntervalSince1970, jobID])
            return JobClaim(jobID: jobID, attempts: attempts + 1, instance: Self.instance(row))
        }
    }

    public func completeJob(_ id: Int64, objects: [NewObject], analysisSeconds: Double, now: Date) throws {
        let t = now.timeIntervalSince1970
        try write(.redoable) { db in
            try db.run("""
                UPDATE jobs SET state = 'analysed', reason = NULL, next_attempt_at = NULL, updated_at = ?, analysis_seconds = ?
                WHERE id = ?
                """, [t, analysisSeconds, id])
            try Self.insert(objects, of: id, db, now: t)
        }
    }

    public func attachObjects(_ id: Int64, objects: [NewObject], now: Date) throws {
        try write(.redoable) { db in try Self.insert(objects, of: id, db, now: now.timeIntervalSince1970) }
    }

    /// A job's objects and their deliveries, due at `t`. The job is not finished while they wait.
    static func insert(_ objects: [NewObject], of id: Int64, _ db: Database, now t: Double) throws {
        if objects.contains(where: { !$0.destinations.isEmpty }) {
            try db.run("UPDATE jobs SET finished_at = NULL WHERE id = ?", [id])
        }
        for o in objects {
            // A re-run (after a crash, or after lost outbox files) produces the same
            // objects: the rows stay, with the new run's fingerprints.
            // The upsert touches the row either way, so RETURNING gives its id either way.
            guard let objectID = try db.value(Int64.self, """
                INSERT INTO objects (job_id, kind, file_name, path, sop_instance_uid, size_bytes, content_hash)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(job_id, file_name) DO UPDATE SET size_bytes = excluded.size_bytes, content_hash = excluded.content_hash
                RETURNING id
                """, [id, o.kind.rawValue, o.fileName, o.path, o.sopInstanceUID, o.fingerprint?.size,
                      o.fingerprint.map { Int64(bitPattern: $0.hash) }]) else { continue }
            // A redone job's deliveries that still wait are due again now.
            for destination in o.destinations {
                try db.run("""
                    INSERT INTO deliveries (object_id, destination, state, attempts, next_attempt_at, queued_at)
                    VALUES (?, ?, 'pending', 0, ?, ?)
                    ON CONFLICT(object_id, destination) DO UPDATE SET next_attempt_at = excluded.next_attempt_at
                    WHERE state IN ('pending', 'failed-retrying')
                    """, [objectID, destination, t, t])
            }
        }
    }

    public func recordWorkerFailure(_ id: Int64, reason: String, quarantineAfter: Int, retryAt: Date, now: Date) throws
        -> (failures: Int, quarantined: Bool) {
        try write(.durable) { db in
            // Durable: a quarantine that a power cut undid would let the image kill workers again.
            try db.run("UPDATE jobs SET worker_failures = worker_failures + 1 WHERE id = ?", [id])
            let failures = try db.value(Int.self, "SELECT worker_failures FROM jobs WHERE id = ?", [id]) ?? 0
            let quarantined = failures >= quarantineAfter
            try db.run("UPDATE jobs SET state = ?, reason = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?",
                       [quarantined ? "quarantined" : "received", reason,
                        quarantined ? nil : retryAt.timeIntervalSince1970, now.timeIntervalSince1970, id])
            if quarantined {
                try db.run("UPDATE deliveries SET state = 'failed', last_error = ?, next_attempt_at = NULL" + Self.waitingDeliveriesOfJob,
                           ["analysis quarantined: \(reason)", id])
            }
            return (failures, quarantined)
        }
    }

    public func redoJob(_ id: Int64, reason: String, now: Date) throws -> Bool {
        try write(.redoable) { db in
            let t = now.timeIntervalSince1970
            try db.run("UPDATE jobs SET state = 'received', reason = ?, next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'analysed'",
                       [reason, t, t, id])
            guard db.changesCount == 1 else { return false }
            // Not due until the job completes again (which makes them due) or fails for good.
            try db.run("UPDATE deliveries SET next_attempt_at = NULL" + Self.waitingDeliveriesOfJob, [id])
            return true
        }
    }

    public func failJob(_ id: Int64, reason: String, retryAt: Date?, now: Date) throws {
        try write(.redoable) { db in
            try db.run("UPDATE jobs SET state = ?, reason = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?",
                       [retryAt == nil ? "failed" : "received", reason, retryAt?.timeIntervalSince1970,
                        now.timeIntervalSince1970, id])
            // A redone job that can no longer be analysed takes its waiting deliveries with it.
            if retryAt == nil {
                try db.run("UPDATE deliveries SET state = 'failed', last_error = ?, next_attempt_at = NULL" + Self.waitingDeliveriesOfJob,
                           ["analysis failed: \(reason)", id])
            }
        }
    }

    public func nextJobDue() throws -> Date? {
        try readOne { db in
            try db.value(Double.self, "SELECT MIN(next_attempt_at) FROM jobs WHERE state = 'received'")
                .map(Date.init(timeIntervalSince1970:))
        }
    }

    public func makeQueuedJobsDue(now: Date) throws -> Int {
        try write(.redoable) { db in
            try db.run("UPDATE jobs SET next_attempt_at = ? WHERE state = 'received' AND next_attempt_at > ?",
                       [now.timeIntervalSince1970, now.timeIntervalSince1970])
            return db.changesCount
        }
    }

    public func dueDeliveries(destination: String, now: Date, limit: Int) throws -> [DeliveryTask] {
        try readOne { db in
            try db.rows("""
                SELECT d.id, d.destination, d.attempts, d.refusals, o.job_id, o.kind, o.file_name, o.path, o.sop_instance_uid,
                       o.size_bytes, o.content_hash, i.sop_instance_uid AS source_uid, i.study_instance_uid
                FROM deliveries d JOIN objects o ON o.id = d.object_id JOIN jobs j ON j.id = o.job_id
                JOIN instances i ON i.id = j.instance_id
                WHERE d.destination = ? AND d.state IN ('pending', 'failed-retrying') AND d.next_attempt_at <= ?
                  AND j.state IN ('analysed', 'failed', 'quarantined')
                ORDER BY d.next_attempt_at, o.job_id, d.id LIMIT ?
                """, [destination, now.timeIntervalSince1970, limit]).map { row in
                DeliveryTask(id: row["id"], jobID: row["job_id"], destination: row["destination"],
                             kind: OutputKind(rawValue: row["kind"]) ?? .json, fileName: row["file_name"], path: row["path"],
                             sopInstanceUID: row["sop_instance_uid"], sourceSOPInstanceUID: row["source_uid"],
                             studyInstanceUID: row["study_instance_uid"], attempts: row["attempts"], refusals: row["refusals"],
                             fingerprint: Self.fingerprint(size: row["size_bytes"], hash: row["content_hash"]))
            }
        }
    }

    public func nextDeliveryDue(destination: String) throws -> Date? {
        try readOne { db in
            try db.value(Double.self, """
                SELECT MIN(next_attempt_at) FROM deliveries WHERE destination = ? AND state IN ('pending', 'failed-retrying')
                """, [destination]).map(Date.init(timeIntervalSince1970:))
        }
    }

    public func markDelivered(_ id: Int64, now: Date) throws {
        try write(.redoable) { db in
            try db.run("""
                UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, next_attempt_at = NULL, delivered_at = ?
                WHERE id = ?
                """, [now.timeIntervalSince1970, id])
        }
    }

    public func markDeliveryRefused(_ id: Int64, error: String, retryAt: Date?, now: Date) throws {
        try write(.redoable) { db in
            try db.run("""
                UPDATE deliveries SET state = ?, attempts = attempts + 1, refusals = refusals + 1, last_error = ?,
                  next_attempt_at = ? WHERE id = ?
                """, [retryAt == nil ? "failed" : "failed-retrying", error, retryAt?.timeIntervalSince1970, id])
        }
    }

    public func markDeliveryUnsent(_ id: Int64, error: String, now: Date) throws {
        try write(.redoable) { db in
            try db.run("""
                UPDATE deliveries SET state = 'failed-retrying', attempts = attempts + 1, last_error = ?
                WHERE id = ? AND state IN ('pending', 'failed-retrying')
                """, [error, id])
        }
    }

    public func waitingDeliveries() throws -> [String: WaitingDeliveries] {
        try readOne { db in
            var waiting: [String: WaitingDeliveries] = [:]
            for row in try db.rows("""
                SELECT destination, COUNT(*) AS n, MIN(queued_at) AS oldest FROM deliveries
                WHERE state IN ('pending', 'failed-retrying') GROUP BY destination
                """) {
                waiting[row["destination"]] = WaitingDeliveries(
                    count: row["n"], oldestQueuedAt: (row["oldest"] as Double?).map(Date.init(timeIntervalSince1970:)))
            }
            return waiting
        }
    }

    public func instance(sopInstanceUID: String) throws -> StoredInstance? {
        try readOne { db in
            try db.row("SELECT * FROM instances WHERE sop_instance_uid = ?", [sopInstanceUID]).map(Self.instance)
        }
    }

    public func recentJobs(limit: Int) throws -> [JobSummary] {
        try pool.read { db in
            try db.rows(Self.jobSQL + " ORDER BY j.id DESC LIMIT ?", [limit]).map { try Self.summary($0, db) }
        }
    }

    public func job(id: Int64) throws -> JobSummary? {
        try pool.read { db in
            try db.row(Self.jobSQL + " WHERE j.id = ?", [id]).map { try Self.summary($0, db) }
        }
    }

    public func counts() throws -> LedgerCounts {
        try pool.read { db in
            var jobs: [JobState: Int] = [:]
            for row in try db.rows("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state") {
                if let s = JobState(rawValue: row["state"]) { jobs[s] = row["n"] }
            }
            var deliveries: [DeliveryState: Int] = [:]
            for row in try db.rows("SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state") {
                if let s = DeliveryState(rawValue: row["state"]) { deliveries[s] = row["n"] }
            }
            var failing: [String: Int] = [:]
            for row in try db.rows("""
                SELECT destination, COUNT(*) AS n FROM deliveries WHERE state IN ('failed-retrying', 'failed') GROUP BY destination
                """) { failing[row["destination"]] = row["n"] }
            return LedgerCounts(jobs: jobs, deliveries: deliveries, failingByDestination: failing)
        }
    }

    private static let jobSQL = """
        SELECT j.*, i.sop_instance_uid, i.study_instance_uid, i.sop_class_uid, i.calling_ae_title, i.received_at
        FROM jobs j JOIN instances i ON i.id = j.instance_id
        """

    private static func summary(_ row: Row, _ db: Database) throws -> JobSummary {
        let id: Int64 = row["id"]
        let deliveries = try db.rows("""
            SELECT d.*, o.file_name, o.kind FROM deliveries d JOIN objects o ON o.id = d.object_id WHERE o.job_id = ? ORDER BY d.id
            """, [id]).map { d in
            DeliverySummary(destination: d["destination"], file: d["file_name"], kind: d["kind"], state: d["state"],
                            attempts: d["attempts"], lastError: d["last_error"],
                            nextAttemptAt: (d["next_attempt_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                            deliveredAt: (d["delivered_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
        }
        let study: String? = row["study_instance_uid"]
        return JobSummary(id: id, state: row["state"], attempts: row["attempts"], reason: row["reason"],
                          instance: UIDHash.short(row["sop_instance_uid"]), study: study.map(UIDHash.short),
                          sopClassUID: row["sop_class_uid"], callingAETitle: row["calling_ae_title"],
                          receivedAt: Date(timeIntervalSince1970: row["received_at"]),
                          updatedAt: Date(timeIntervalSince1970: row["updated_at"]),
                          nextAttemptAt: (row["next_attempt_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                          analysisSeconds: row["analysis_seconds"], deliveries: deliveries)
    }

    /// The deliveries of job `?` still waiting to go out (what a redo holds, a final failure fails).
    private static let waitingDeliveriesOfJob = """
         WHERE state IN ('pending', 'failed-retrying') AND object_id IN (SELECT id FROM objects WHERE job_id = ?)
        """

    private static func fingerprint(size: Int64?, hash: Int64?) -> ContentFingerprint? {
        guard let size, let hash else { return nil }
        return ContentFingerprint(size: size, hash: UInt64(bitPattern: hash))
    }

    private static func instance(_ row: Row) -> StoredInstance {
        StoredInstance(id: row["id"], sopInstanceUID: row["sop_instance_uid"], sopClassUID: row["sop_class_uid"],
                       studyInstanceUID: row["study_instance_uid"], callingAETitle: row["calling_ae_title"],
                       transferSyntaxUID: row["transfer_syntax_uid"], spoolPath: row["spool_path"],
                       datasetSHA256: row["dataset_sha256"])
    }
}

extension Database {
    // Statements prepared once per connection: GRDB's preparation (SQLite's parser plus its
    // statement bookkeeping) cost about 1 ms per call, more than the queries themselves.
    func run(_ sql: String, _ arguments: StatementArguments = []) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }

    func rows(_ sql: String, _ arguments: StatementArguments = []) throws -> [Row] {
        try Row.fetchAll(cachedStatement(sql: sql), arguments: arguments)
    }

    func row(_ sql: String, _ arguments: StatementArguments = []) throws -> Row? {
        try Row.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }

    func value<T: DatabaseValueConvertible & StatementColumnConvertible>(_ type: T.Type, _ sql: String,
                                                                          _ arguments: StatementArguments = []) throws -> T? {
        try T.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }
}
