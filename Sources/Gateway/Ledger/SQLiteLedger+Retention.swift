import Foundation
import GRDB

extension SQLiteLedger: RetentionLedger {
    public func settleFinishedJobs(limit: Int) throws -> Int {
        try write(.redoable) { db in
            // Only unfinished jobs are looked at (partial index jobs_unfinished): few, the recent ones.
            try db.run("""
                UPDATE jobs SET finished_at = COALESCE(
                    (SELECT MAX(d.delivered_at) FROM deliveries d JOIN objects o ON o.id = d.object_id WHERE o.job_id = jobs.id),
                    updated_at)
                WHERE id IN (
                    SELECT j.id FROM jobs j
                    WHERE j.finished_at IS NULL AND j.state IN ('analysed', 'failed', 'quarantined')
                      AND NOT EXISTS (SELECT 1 FROM objects o JOIN deliveries d ON d.object_id = o.id
                                      WHERE o.job_id = j.id AND d.state != 'delivered')
                    LIMIT ?)
                """, [limit])
            return db.changesCount
        }
    }

    public func imagesToRemove(finishedBefore: Date?, limit: Int) throws -> [RetainedImage] {
        try readOne { db in
            try db.rows("""
                SELECT i.id, i.spool_path, i.size_bytes, j.finished_at FROM jobs j JOIN instances i ON i.id = j.instance_id
                WHERE j.finished_at IS NOT NULL AND j.finished_at < ? AND i.spool_removed_at IS NULL
                ORDER BY j.finished_at LIMIT ?
                """, [finishedBefore?.timeIntervalSince1970 ?? Double.greatestFiniteMagnitude, limit]).map { row in
                RetainedImage(instanceID: row["id"], spoolPath: row["spool_path"], sizeBytes: row["size_bytes"],
                              finishedAt: Date(timeIntervalSince1970: row["finished_at"]))
            }
        }
    }

    public func markImagesRemoved(_ instanceIDs: [Int64], now: Date) throws {
        guard !instanceIDs.isEmpty else { return }
        try write(.redoable) { db in
            for id in instanceIDs {
                try db.run("UPDATE instances SET spool_removed_at = ? WHERE id = ?", [now.timeIntervalSince1970, id])
            }
        }
    }

    public func recordsToPrune(finishedBefore: Date, limit: Int) throws -> [PrunableJob] {
        try pool.read { db in
            try db.rows("""
                SELECT j.id AS job_id, i.id AS instance_id FROM jobs j JOIN instances i ON i.id = j.instance_id
                WHERE j.finished_at IS NOT NULL AND j.finished_at < ? AND i.spool_removed_at IS NOT NULL
                ORDER BY j.finished_at LIMIT ?
                """, [finishedBefore.timeIntervalSince1970, limit]).map { row in
                let job: Int64 = row["job_id"]
                let paths = try String.fetchAll(db, sql: "SELECT path FROM objects WHERE job_id = ?", arguments: [job])
                return PrunableJob(jobID: job, instanceID: row["instance_id"], objectPaths: paths)
            }
        }
    }

    public func prune(_ jobs: [PrunableJob]) throws {
        guard !jobs.isEmpty else { return }
        try write(.redoable) { db in
            for job in jobs {
                try db.run("DELETE FROM deliveries WHERE object_id IN (SELECT id FROM objects WHERE job_id = ?)", [job.jobID])
                try db.run("DELETE FROM objects WHERE job_id = ?", [job.jobID])
                // The reading room's copy of the result and its signed revisions go with the job;
                // the audit trail keeps its rows (they name the job by number only).
                try db.run("DELETE FROM review_items WHERE job_id = ?", [job.jobID])
                try db.run("DELETE FROM revisions WHERE job_id = ?", [job.jobID])
                try db.run("DELETE FROM jobs WHERE id = ?", [job.jobID])
                try db.run("DELETE FROM instances WHERE id = ?", [job.instanceID])
            }
        }
    }

    public func spoolUsage() throws -> SpoolUsage {
        try readOne { db in
            let row = try db.row("""
                SELECT COUNT(*) AS n, COALESCE(SUM(size_bytes), 0) AS bytes, MIN(received_at) AS oldest
                FROM instances WHERE spool_removed_at IS NULL
                """)
            return SpoolUsage(images: row?["n"] ?? 0, bytes: row?["bytes"] ?? 0,
                              oldestReceivedAt: (row?["oldest"] as Double?).map(Date.init(timeIntervalSince1970:)))
        }
    }

    public func spoolPathIsKnown(_ relativePath: String) throws -> Bool {
        try readOne { db in
            try db.value(Bool.self, "SELECT EXISTS(SELECT 1 FROM instances WHERE spool_path = ?)", [relativePath]) ?? false
        }
    }
}
