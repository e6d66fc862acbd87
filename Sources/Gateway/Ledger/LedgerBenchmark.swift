import Foundation
import GRDB

/// Fills a ledger with the rows a gateway accumulates (images, jobs, three objects each, their
/// deliveries, finished, and as retention leaves them: images older than keep_images_days out of
/// the spool, records older than keep_records_days gone) and times the queries the gateway runs
/// all day, for `wecare bench-ledger`. The peer is the same ledger one day old: what matters is
/// how the times grow after a year, not their absolute value.
public enum LedgerBenchmark {
    public struct Timing: Sendable {
        public var query: String
        public var medianMS: Double
    }

    /// The rows of `days` x `perDay` images received over the last `days` days, every one of them
    /// analysed and delivered but today's, that retention keeps: the last `keepRecordsDays` days,
    /// the images of the last `keepImagesDays` days still in the spool.
    public static func fill(_ ledger: SQLiteLedger, days: Int, perDay: Int, keepRecordsDays: Int, keepImagesDays: Int,
                            now: Date = Date()) throws {
        try ledger.pool.write { db in
            var n = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM instances") ?? 0
            for day in max(0, days - keepRecordsDays)..<days {
                for k in 0..<perDay {
                    n += 1
                    let t = now.timeIntervalSince1970 - Double(days - day) * 86_400 + Double(k) * 86_400 / Double(perDay)
                    let uid = "2.25.\(1_000_000_000 + n)"
                    try db.execute(sql: """
                        INSERT INTO instances (sop_instance_uid, sop_class_uid, study_instance_uid, calling_ae_title,
                          transfer_syntax_uid, spool_path, size_bytes, received_at, spool_removed_at)
                          VALUES (?, ?, ?, 'US_ROOM1', ?, ?, 1000000, ?, ?)
                        """, arguments: [uid, "1.2.840.10008.5.1.4.1.1.6.1", "2.25.\(n / 4)", "1.2.840.10008.1.2.4.50",
                                         "\(n % 256)/\(n).dcm", t, days - day > keepImagesDays ? t + 3 : nil])
                    let instance = db.lastInsertedRowID
                    let today = day == days - 1
                    try db.execute(sql: """
                        INSERT INTO jobs (instance_id, state, attempts, next_attempt_at, created_at, updated_at, analysis_seconds, finished_at)
                        VALUES (?, 'analysed', 1, NULL, ?, ?, 0.07, ?)
                        """, arguments: [instance, t, t + 1, today ? nil : t + 2])
                    let job = db.lastInsertedRowID
                    for name in ["seg.dcm", "sr.dcm", "pr.dcm"] {
                        try db.execute(sql: "INSERT INTO objects (job_id, kind, file_name, path) VALUES (?, 'sr', ?, ?)",
                                       arguments: [job, name, "outbox/\(job)/\(name)"])
                        try db.execute(sql: """
                            INSERT INTO deliveries (object_id, destination, state, attempts, next_attempt_at, delivered_at)
                            VALUES (?, 'pacs', ?, 1, ?, ?)
                            """, arguments: [db.lastInsertedRowID, today ? "pending" : "delivered", today ? t + 1 : nil,
                                             today ? nil : t + 2])
                    }
                }
            }
        }
    }

    /// Median milliseconds of each hot query over `runs` runs.
    public static func time(_ ledger: SQLiteLedger, runs: Int, now: Date = Date()) throws -> [Timing] {
        var uidCounter = 0
        let queries: [(String, () throws -> Void)] = [
            ("receive (containsInstance + recordReceived)", {
                uidCounter += 1
                let uid = "2.25.9\(UInt32.random(in: 0...UInt32.max))\(uidCounter)"
                _ = try ledger.containsInstance(sopInstanceUID: uid)
                _ = try ledger.recordReceived(NewInstance(sopInstanceUID: uid, sopClassUID: "1.2.840.10008.5.1.4.1.1.6.1",
                                                          studyInstanceUID: nil, callingAETitle: "US_ROOM1",
                                                          transferSyntaxUID: "1.2.840.10008.1.2.1", spoolPath: "ff/\(uid).dcm",
                                                          sizeBytes: 1), now: now)
            }),
            ("claimDueJob", { _ = try ledger.claimDueJob(now: now) }),
            ("dueDeliveries (pacs, 64)", { _ = try ledger.dueDeliveries(destination: "pacs", now: now, limit: 64) }),
            ("recentJobs (100) = /api/v1/jobs", { _ = try ledger.recentJobs(limit: 100) }),
            ("counts (/metrics)", { _ = try ledger.counts() }),
            ("spoolUsage (/metrics)", { _ = try ledger.spoolUsage() }),
            ("settleFinishedJobs (sweep)", { _ = try ledger.settleFinishedJobs(limit: 100) }),
            ("imagesToRemove (sweep)", { _ = try ledger.imagesToRemove(finishedBefore: now.addingTimeInterval(-14 * 86_400), limit: 100) }),
        ]
        return try queries.map { name, body in
            try body() // warm the statement cache
            var times: [Double] = []
            for _ in 0..<runs {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            times.sort()
            return Timing(query: name, medianMS: times[times.count / 2])
        }
    }
}
