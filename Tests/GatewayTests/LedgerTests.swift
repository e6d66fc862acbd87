import XCTest
@testable import Gateway
import DICOM
import GRDB

final class LedgerTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try Tools.temporaryDirectory("ledger") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testDuplicatesAreRecordedOnceAndInterruptedJobsGoBackToReceived() throws {
        let file = dir.appendingPathComponent("ledger.sqlite")
        do {
            let ledger = try SQLiteLedger(path: file)
            guard case .recorded(let job) = try ledger.recordReceived(NewInstance.example("1.2.3.4"), now: Date()) else { return XCTFail() }
            XCTAssertEqual(try ledger.recordReceived(NewInstance.example("1.2.3.4"), now: Date()), .duplicate)
            _ = try ledger.recordReceived(NewInstance.example("1.2.3.5"), now: Date())
            let claim = try XCTUnwrap(try ledger.claimDueJob(now: Date()))
            XCTAssertEqual(claim.jobID, job)
            XCTAssertEqual(claim.attempts, 1)
            XCTAssertEqual(try ledger.counts().jobs, [.analysing: 1, .received: 1])
        }
        // As after kill -9: the ledger is reopened and the analysing job is queued again.
        let reopened = try SQLiteLedger(path: file)
        XCTAssertEqual(try reopened.resetInterruptedJobs(now: Date()), 1)
        XCTAssertEqual(try reopened.counts().jobs, [.received: 2])
        let claims = [try reopened.claimDueJob(now: Date()), try reopened.claimDueJob(now: Date())].compactMap { $0 }
        XCTAssertEqual(claims.count, 2)
        XCTAssertEqual(claims.first { $0.instance.sopInstanceUID == "1.2.3.4" }?.attempts, 2, "attempts survive the restart")
    }

    /// The 0000 answer waits for `recordReceived`, so its commit must reach the disk (FULL);
    /// the later steps may commit without a sync of their own (NORMAL). Each write sets its own
    /// level because GRDB puts its WAL writer at NORMAL after our connection setup has run.
    func testReceiptsCommitWithFullSyncAndLaterStepsWithNormal() throws {
        let ledger = try SQLiteLedger(path: dir.appendingPathComponent("sync.sqlite"))
        XCTAssertEqual(try ledger.writerSynchronousLevel(), 1, "GRDB's WAL writer starts at NORMAL")
        _ = try ledger.recordReceived(NewInstance.example("7.7"), now: Date())
        XCTAssertEqual(try ledger.writerSynchronousLevel(), 2, "a receipt commits with synchronous=FULL")
        _ = try XCTUnwrap(try ledger.claimDueJob(now: Date()))
        XCTAssertEqual(try ledger.writerSynchronousLevel(), 1, "a claim commits with synchronous=NORMAL")
        _ = try ledger.recordReceived(NewInstance.example("7.8"), now: Date())
        XCTAssertEqual(try ledger.writerSynchronousLevel(), 2)
    }

    func testRetryingJobWaitsUntilDueAndDeliveriesKeepTheirError() throws {
        let ledger = try SQLiteLedger(path: dir.appendingPathComponent("l.sqlite"))
        _ = try ledger.recordReceived(NewInstance.example("9.9"), now: Date())
        let claim = try XCTUnwrap(try ledger.claimDueJob(now: Date()))
        let later = Date().addingTimeInterval(60)
        try ledger.failJob(claim.jobID, reason: "busy", retryAt: later, now: Date())
        XCTAssertNil(try ledger.claimDueJob(now: Date()), "not due yet")
        let due = try XCTUnwrap(try ledger.claimDueJob(now: later.addingTimeInterval(1)))
        try ledger.completeJob(due.jobID, objects: [
            NewObject(kind: .seg, fileName: "seg.dcm", path: "outbox/jobs/1/seg.dcm", sopInstanceUID: "2.25.1", destinations: ["pacs", "archive"]),
        ], analysisSeconds: 0.1, now: Date())
        let tasks = try ledger.dueDeliveries(destination: "pacs", now: Date(), limit: 10)
        XCTAssertEqual(tasks.count, 1)
        try ledger.markDeliveryRefused(tasks[0].id, error: "peer answered status C000", retryAt: Date().addingTimeInterval(30), now: Date())
        XCTAssertEqual(try ledger.dueDeliveries(destination: "pacs", now: Date(), limit: 10).count, 0)
        let job = try XCTUnwrap(try ledger.job(id: due.jobID))
        let pacs = try XCTUnwrap(job.deliveries.first { $0.destination == "pacs" })
        XCTAssertEqual(pacs.state, "failed-retrying")
        XCTAssertEqual(pacs.lastError, "peer answered status C000")
        XCTAssertEqual(job.instance, UIDHash.short("9.9"))
        XCTAssertFalse(job.instance.contains("9.9"))
    }

    /// An unsynced outbox object's fingerprint reaches the delivery; a job sent back to analysis
    /// holds its waiting deliveries (none due, none counted due) until it completes again with
    /// the new run's fingerprint, or fails for good and takes them with it.
    func testARedoneJobHoldsItsDeliveriesUntilAnalysedAgain() throws {
        let ledger = try SQLiteLedger(path: dir.appendingPathComponent("redo.sqlite"))
        func object(_ hash: UInt64) -> NewObject {
            NewObject(kind: .seg, fileName: "seg.dcm", path: "outbox/jobs/1/seg.dcm", sopInstanceUID: "2.25.1", destinations: ["pacs"],
                      fingerprint: ContentFingerprint(size: 36_000, hash: hash))
        }
        _ = try ledger.recordReceived(NewInstance.example("8.1"), now: Date())
        let claim = try XCTUnwrap(try ledger.claimDueJob(now: Date()))
        XCTAssertFalse(try ledger.redoJob(claim.jobID, reason: "lost", now: Date()), "only an analysed job is redone")
        try ledger.completeJob(claim.jobID, objects: [object(.max)], analysisSeconds: 0.1, now: Date())
        let first = try ledger.dueDeliveries(destination: "pacs", now: Date(), limit: 10)
        XCTAssertEqual(first.map(\.fingerprint), [ContentFingerprint(size: 36_000, hash: .max)], "all 64 bits survive")

        XCTAssertTrue(try ledger.redoJob(claim.jobID, reason: "outbox file seg.dcm missing", now: Date()))
        XCTAssertFalse(try ledger.redoJob(claim.jobID, reason: "again", now: Date()), "a second sender finds it done")
        XCTAssertEqual(try ledger.dueDeliveries(destination: "pacs", now: Date().addingTimeInterval(3600), limit: 10).count, 0)
        XCTAssertNil(try ledger.nextDeliveryDue(destination: "pacs"), "the loop does not poll for them meanwhile")
        XCTAssertEqual(try ledger.job(id: claim.jobID)?.reason, "outbox file seg.dcm missing")
        let again = try XCTUnwrap(try ledger.claimDueJob(now: Date()))
        XCTAssertEqual(again.jobID, claim.jobID)
        XCTAssertEqual(again.attempts, 2)
        try ledger.completeJob(again.jobID, objects: [object(42)], analysisSeconds: 0.1, now: Date())
        let second = try ledger.dueDeliveries(destination: "pacs", now: Date(), limit: 10)
        XCTAssertEqual(second.map(\.id), first.map(\.id), "the same delivery, not a second one")
        XCTAssertEqual(second.first?.fingerprint?.hash, 42)

        XCTAssertTrue(try ledger.redoJob(claim.jobID, reason: "lost again", now: Date()))
        let third = try XCTUnwrap(try ledger.claimDueJob(now: Date()))
        try ledger.failJob(third.jobID, reason: "spool file gone", retryAt: nil, now: Date())
        let pacs = try XCTUnwrap(try ledger.job(id: claim.jobID)?.deliveries.first)
        XCTAssertEqual(pacs.state, "failed")
        XCTAssertEqual(pacs.lastError, "analysis failed: spool file gone")
    }

    /// A refusal counts against max_attempts and waits for its retry; a send that found the
    /// destination down counts no refusal and stays due (it goes when the destination is back).
    /// What waits is counted per destination with the time the oldest was queued.
    func testRefusalsCountAndWaitWhileUnsentDeliveriesStayDue() throws {
        let ledger = try SQLiteLedger(path: dir.appendingPathComponent("waiting.sqlite"))
        let queued = Date(timeIntervalSince1970: 1_700_000_000)
        for uid in ["5.1", "5.2", "5.3"] {
            _ = try ledger.recordReceived(NewInstance.example(uid), now: queued)
            let claim = try XCTUnwrap(try ledger.claimDueJob(now: queued))
            try ledger.completeJob(claim.jobID, objects: [
                NewObject(kind: .seg, fileName: "seg.dcm", path: DataDirectory.jobObjectPath(job: claim.jobID, file: "seg.dcm"),
                          sopInstanceUID: "2.25.\(uid)", destinations: ["pacs", "archive"]),
            ], analysisSeconds: 0.1, now: queued.addingTimeInterval(5))
        }
        let now = queued.addingTimeInterval(60)
        let due = try ledger.dueDeliveries(destination: "pacs", now: now, limit: 10)
        XCTAssertEqual(due.count, 3)
        XCTAssertEqual(due.map(\.refusals), [0, 0, 0])
        try ledger.markDeliveryUnsent(due[0].id, error: "connection refused", now: now)
        try ledger.markDeliveryRefused(due[1].id, error: "peer answered status C000", retryAt: now.addingTimeInterval(30), now: now)
        try ledger.markDelivered(due[2].id, now: now)
        let again = try ledger.dueDeliveries(destination: "pacs", now: now, limit: 10)
        XCTAssertEqual(again.map(\.id), [due[0].id], "the unsent one is still due; the refused one waits for its retry")
        XCTAssertEqual(again.first?.refusals, 0)
        XCTAssertEqual(again.first?.attempts, 1)
        let later = try ledger.dueDeliveries(destination: "pacs", now: now.addingTimeInterval(31), limit: 10)
        XCTAssertEqual(later.first { $0.id == due[1].id }?.refusals, 1)
        let waiting = try ledger.waitingDeliveries()
        XCTAssertEqual(waiting["pacs"], WaitingDeliveries(count: 2, oldestQueuedAt: queued.addingTimeInterval(5)))
        XCTAssertEqual(waiting["archive"]?.count, 3)
        let summary = try XCTUnwrap(try ledger.job(id: due[0].jobID)?.deliveries.first { $0.destination == "pacs" })
        XCTAssertEqual(summary.state, "failed-retrying")
        XCTAssertEqual(summary.lastError, "connection refused")
    }

    /// A ledger of the layout before `outbox/jobs/` (schema v3) migrates: object paths follow
    /// the files `LegacyOutboxLayout` moves, and a folder destination named like a job keeps
    /// its own files.
    func testALedgerAndOutboxFromBeforeOutboxJobsMigrate() throws {
        let data = DataDirectory(dir.appendingPathComponent("data"))
        let file = data.ledgerFile
        try FileManager.default.createDirectory(at: data.root, withIntermediateDirectories: true)
        do {
            let ledger = try SQLiteLedger(path: file)
            for uid in ["4.1", "4.2"] {
                _ = try ledger.recordReceived(NewInstance.example(uid), now: Date())
                let claim = try XCTUnwrap(try ledger.claimDueJob(now: Date()))
                try ledger.completeJob(claim.jobID, objects: [
                    NewObject(kind: .seg, fileName: "seg.dcm", path: "outbox/\(claim.jobID)/seg.dcm", sopInstanceUID: "2.25.\(uid)",
                              destinations: ["pacs"], fingerprint: ContentFingerprint(of: Data(uid.utf8))),
                ], analysisSeconds: 0.1, now: Date())
            }
        }
        let queue = try DatabaseQueue(path: file.path)
        try queue.write { db in
            try db.execute(sql: """
                UPDATE objects SET path = 'outbox/' || job_id || '/' || file_name;
                ALTER TABLE deliveries DROP COLUMN refusals;
                ALTER TABLE deliveries DROP COLUMN queued_at;
                DELETE FROM grdb_migrations WHERE identifier LIKE 'v4%' OR identifier LIKE 'v5%';
                """)
        }
        try queue.close()
        // Job 1's object, and a folder destination named "2" whose folder job 2's object shares.
        for (job, uid) in [(1, "4.1"), (2, "4.2")] {
            let old = data.outbox.appendingPathComponent("\(job)")
            try FileManager.default.createDirectory(at: old, withIntermediateDirectories: true)
            try Data(uid.utf8).write(to: old.appendingPathComponent("seg.dcm"))
        }
        let delivered = data.outbox.appendingPathComponent("2/abc/def")
        try FileManager.default.createDirectory(at: delivered, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: delivered.appendingPathComponent("result.json"))

        XCTAssertEqual(try LegacyOutboxLayout.migrate(data, destinationFolders: [data.outbox.appendingPathComponent("2")]), 2)
        XCTAssertEqual(try LegacyOutboxLayout.migrate(data, destinationFolders: []), 0, "a second start finds nothing to move")
        let migrated = try SQLiteLedger(path: file)
        let due = try migrated.dueDeliveries(destination: "pacs", now: Date(), limit: 10)
        XCTAssertEqual(due.map(\.path), ["outbox/jobs/1/seg.dcm", "outbox/jobs/2/seg.dcm"])
        for task in due {
            XCTAssertEqual(ContentFingerprint(of: try Data(contentsOf: data.file(task.path))), task.fingerprint)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: data.outbox.appendingPathComponent("1").path), "an emptied job folder goes")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: data.outbox.appendingPathComponent("2").path), ["abc"],
                       "the destination's own files stay")
        XCTAssertEqual(try migrated.waitingDeliveries()["pacs"]?.count, 2)
        XCTAssertNotNil(try migrated.waitingDeliveries()["pacs"]?.oldestQueuedAt, "queued_at filled from the job")
    }

    /// A ledger from before fingerprints (schema v1) opens and migrates; its objects, written
    /// durably then, are delivered without a check.
    func testALedgerFromBeforeFingerprintsMigratesAndItsObjectsGoUnchecked() throws {
        let file = dir.appendingPathComponent("v1.sqlite")
        do {
            let ledger = try SQLiteLedger(path: file)
            _ = try ledger.recordReceived(NewInstance.example("6.1"), now: Date())
            let claim = try XCTUnwrap(try ledger.claimDueJob(now: Date()))
            try ledger.completeJob(claim.jobID, objects: [
                NewObject(kind: .sr, fileName: "sr.dcm", path: "outbox/1/sr.dcm", sopInstanceUID: "2.25.6", destinations: ["pacs"]),
            ], analysisSeconds: 0.1, now: Date())
        }
        // Back to v1 as an older WeCare left it: no fingerprint columns, no record of v2.
        let queue = try DatabaseQueue(path: file.path)
        try queue.write { db in
            try db.execute(sql: """
                ALTER TABLE objects DROP COLUMN size_bytes;
                ALTER TABLE objects DROP COLUMN content_hash;
                ALTER TABLE jobs DROP COLUMN worker_failures;
                ALTER TABLE deliveries DROP COLUMN refusals;
                ALTER TABLE deliveries DROP COLUMN queued_at;
                DROP INDEX jobs_finished; DROP INDEX jobs_unfinished; DROP INDEX instances_in_spool;
                DROP INDEX instances_spool_path; DROP INDEX deliveries_state;
                ALTER TABLE jobs DROP COLUMN finished_at;
                ALTER TABLE instances DROP COLUMN spool_removed_at;
                ALTER TABLE instances DROP COLUMN dataset_sha256;
                UPDATE objects SET path = 'outbox/' || job_id || '/' || file_name;
                DELETE FROM grdb_migrations WHERE identifier NOT LIKE 'v1%';
                """)
        }
        try queue.close()
        let migrated = try SQLiteLedger(path: file)
        let due = try migrated.dueDeliveries(destination: "pacs", now: Date(), limit: 10)
        XCTAssertEqual(due.map(\.fileName), ["sr.dcm"])
        XCTAssertEqual(due.map(\.path), ["outbox/jobs/1/sr.dcm"])
        XCTAssertNil(due.first?.fingerprint)
    }

    func testBackoffGrowsWithFullJitterWithinBounds() {
        let policy = RetryPolicy(baseSeconds: 1, maxSeconds: 3600)
        for attempt in 1...20 {
            let cap = min(3600, pow(2, Double(attempt - 1)))
            for _ in 0..<50 {
                let d = policy.delay(afterAttempt: attempt)
                XCTAssertGreaterThanOrEqual(d, 1)
                XCTAssertLessThanOrEqual(d, cap)
            }
        }
        let late = (0..<200).map { _ in policy.delay(afterAttempt: 30) }
        XCTAssertGreaterThan(Set(late.map { Int($0) }).count, 50, "jittered, not a fixed delay")
        XCTAssertGreaterThan(late.max()!, 1800)
    }

    func testSHA256MatchesKnownVectors() {
        XCTAssertEqual(SHA256.hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(String(repeating: "a", count: 1000)).prefix(16), "41edece42d63e8d9")
    }

    /// The streaming hasher (received datasets are hashed from their files in chunks) gives
    /// the one-shot digest whatever the chunk boundaries.
    func testStreamingSHA256EqualsTheOneShotDigest() {
        var generator = SystemRandomNumberGenerator()
        let message = (0..<10_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for chunk in [1, 7, 63, 64, 65, 1000, 10_000] {
            var hasher = SHA256.Hasher()
            for start in stride(from: 0, to: message.count, by: chunk) {
                message[start..<min(start + chunk, message.count)].withUnsafeBytes { hasher.update($0) }
            }
            XCTAssertEqual(SHA256.hex(digest: hasher.finalize()), SHA256.hex(digest: SHA256.hash(message)), "chunks of \(chunk)")
        }
        var hasher = SHA256.Hasher()
        Array(String(repeating: "a", count: 1000).utf8).withUnsafeBytes { hasher.update($0) }
        XCTAssertEqual(SHA256.hex(digest: hasher.finalize()).prefix(16), "41edece42d63e8d9")
    }

    /// The "instance-content-hash" migration: a dataset hash kept per instance; rows without
    /// one (received before it) read as nil, which the receive path treats as equal to any copy.
    func testDatasetHashIsKeptPerInstanceAndOlderRowsHaveNone() throws {
        let file = dir.appendingPathComponent("ledger.sqlite")
        let ledger = try SQLiteLedger(path: file)
        var hashed = NewInstance.example("1.2.3.4")
        hashed.datasetSHA256 = String(repeating: "ab", count: 32)
        _ = try ledger.recordReceived(hashed, now: Date())
        _ = try ledger.recordReceived(NewInstance.example("1.2.3.5"), now: Date())
        XCTAssertEqual(try ledger.instance(sopInstanceUID: "1.2.3.4")?.datasetSHA256, String(repeating: "ab", count: 32))
        XCTAssertNil(try ledger.instance(sopInstanceUID: "1.2.3.5")?.datasetSHA256)
        let claim = try XCTUnwrap(try ledger.claimDueJob(now: Date()))
        XCTAssertEqual(claim.instance.datasetSHA256, String(repeating: "ab", count: 32), "claims carry it too")
        let migrations = try DatabaseQueue(path: file.path).read { db in
            try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
        }
        XCTAssertTrue(migrations.contains("instance-content-hash"), "\(migrations)")
    }

    func testDatasetPeekReadsUIDsInBothLittleEndianEncodings() throws {
        let explicit = try TestImages.make(1, in: dir)[0]
        let implicit = try TestImages.make(1, encoding: "implicit", in: dir)[0]
        for file in [explicit, implicit] {
            let peek = DatasetPeek.uids(in: file)
            XCTAssertEqual(peek.sopInstanceUID, try TestImages.sopInstanceUID(file))
            let study = try Tools.run("dcmdump", ["+P", "0020,000d", "-s", file.path]).output
            XCTAssertTrue(study.contains("[\(try XCTUnwrap(peek.studyInstanceUID))]"), study)
        }
    }

    /// Attributes before the study UID longer than the first 16 KiB read: the rest is read too.
    func testDatasetPeekReadsPastALongHeader() throws {
        let file = try TestImages.make(1, in: dir)[0]
        let before = DatasetPeek.uids(in: file)
        XCTAssertNotNil(before.studyInstanceUID)
        let r = try Tools.run("dcmodify", ["-nb", "-i", "(0010,4000)=" + String(repeating: "x", count: 20_000), file.path])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(DatasetPeek.uids(in: file), before)
    }
}
