import Foundation
import Logging

/// Removes what `[retention]` allows, in small batches on a thread of its own, so that neither
/// receiving nor the ledger ever waits long for it. One sweep is a list of stages:
///
/// 1. settle: stamp jobs whose every result is delivered as finished;
/// 2. age: remove images finished longer ago than `keep_images_days` from the spool;
/// 3. ceiling: while the spool holds more than `max_spool_gb`, remove the oldest finished images;
/// 4. records: prune the ledger rows (and spilled outbox files) of jobs finished longer ago than
///    `keep_records_days`;
/// 5. orphans: remove spool files no ledger row names (one prefix folder per sweep).
///
/// Crash safety comes from the order within each stage: a file is deleted before the row that
/// names it is changed, and only finished jobs' files are deleted. A kill between the two leaves a
/// row for a file already gone, which no job needs and the next sweep settles (deleting a missing
/// file is not an error); never a file that no row names.
final class Sweeper: @unchecked Sendable {
    // `thread` and the stop flag are guarded by the doorbell's own lock; the rest is immutable.
    private let settings: RetentionSettings
    private let ledger: RetentionLedger
    private let spool: Spool
    private let dataDirectory: URL
    private let metrics: GatewayMetrics
    private let logger: Logger
    private let doorbell = Doorbell()
    private let stopFlag = StopFlag()
    private var thread: Thread?
    private var nextOrphanPrefix = 0
    /// Rows per ledger transaction, and batches per stage and sweep.
    static let batch = 100, maxBatches = 50
    /// A spool file younger than this may be a receive whose ledger row is being committed.
    static let orphanGraceSeconds: Double = 3600

    init(settings: RetentionSettings, ledger: RetentionLedger, spool: Spool, dataDirectory: URL,
         metrics: GatewayMetrics, logger: Logger) {
        self.settings = settings
        self.ledger = ledger
        self.spool = spool
        self.dataDirectory = dataDirectory
        self.metrics = metrics
        self.logger = logger
    }

    func start() {
        let t = Thread { [self] in
            while !stopFlag.isSet {
                let ticket = doorbell.ticket()
                sweep(now: Date())
                if stopFlag.isSet { break }
                doorbell.waitBlocking(after: ticket, upTo: settings.sweepIntervalSeconds)
            }
        }
        t.name = "wecare-sweeper"
        thread = t
        t.start()
    }

    /// Returns once the sweep in progress (if any) has ended its current batch.
    func stop() async {
        stopFlag.set()
        doorbell.ringAll()
        while let t = thread, !t.isFinished { try? await Task.sleep(nanoseconds: 10_000_000) }
        thread = nil
    }

    /// One sweep; what it removed, per stage.
    @discardableResult
    func sweep(now: Date) -> [String: Int] {
        var removed: [String: Int] = [:]
        do {
            while try ledger.settleFinishedJobs(limit: Self.batch) == Self.batch, !stopFlag.isSet {}
            removed["age"] = try removeImages(finishedBefore: now.addingTimeInterval(-settings.keepImagesSeconds), now: now)
            removed["ceiling"] = try enforceCeiling(now: now)
            removed["records"] = try pruneRecords(finishedBefore: now.addingTimeInterval(-settings.keepRecordsSeconds))
            removed["orphan"] = try removeOrphans(now: now)
            for (reason, n) in removed { metrics.retentionRemoved(n, reason: reason) }
            metrics.spool(try ledger.spoolUsage(), now: now)
            if removed.values.contains(where: { $0 > 0 }) {
                logger.info("retention sweep", metadata: removed.mapValues { "\($0)" })
            }
        } catch {
            logger.error("retention sweep failed; it is tried again at the next interval", metadata: ["error": "\(error)"])
        }
        return removed
    }

    private func removeImages(finishedBefore: Date, now: Date) throws -> Int {
        var total = 0
        for _ in 0..<Self.maxBatches where !stopFlag.isSet {
            let images = try ledger.imagesToRemove(finishedBefore: finishedBefore, limit: Self.batch)
            try remove(images, now: now)
            total += images.count
            if images.count < Self.batch { break }
        }
        return total
    }

    private func enforceCeiling(now: Date) throws -> Int {
        guard settings.maxSpoolBytes > 0 else { return 0 }
        var excess = try ledger.spoolUsage().bytes - Int64(clamping: settings.maxSpoolBytes)
        var total = 0
        while excess > 0, !stopFlag.isSet {
            let images = try ledger.imagesToRemove(finishedBefore: nil, limit: Self.batch)
            guard !images.isEmpty else {
                logger.warning("the spool is above max_spool_gb but every image in it still waits for delivery")
                break
            }
            var chosen: [RetainedImage] = []
            for image in images where excess > 0 {
                chosen.append(image)
                excess -= image.sizeBytes
            }
            try remove(chosen, now: now)
            total += chosen.count
        }
        return total
    }

    /// Files first, then the rows that name them.
    private func remove(_ images: [RetainedImage], now: Date) throws {
        for image in images { unlinkIfPresent(spool.url(relativePath: image.spoolPath)) }
        try ledger.markImagesRemoved(images.map(\.instanceID), now: now)
    }

    private func pruneRecords(finishedBefore: Date) throws -> Int {
        var total = 0
        for _ in 0..<Self.maxBatches where !stopFlag.isSet {
            let jobs = try ledger.recordsToPrune(finishedBefore: finishedBefore, limit: Self.batch)
            for job in jobs {
                var folders = Set<URL>()
                for path in job.objectPaths {
                    let url = dataDirectory.appendingPathComponent(path)
                    unlinkIfPresent(url)
                    folders.insert(url.deletingLastPathComponent())
                }
                for folder in folders { rmdir(folder.path) } // only when empty
            }
            try ledger.prune(jobs)
            total += jobs.count
            if jobs.count < Self.batch { break }
        }
        return total
    }

    /// One of the 256 prefix folders per sweep: the whole spool is checked every 256 sweeps.
    private func removeOrphans(now: Date) throws -> Int {
        let prefix = String(format: "%02x", nextOrphanPrefix)
        nextOrphanPrefix = (nextOrphanPrefix + 1) % 256
        let folder = spool.root.appendingPathComponent(prefix)
        var removed = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where !stopFlag.isSet {
            let url = folder.appendingPathComponent(name)
            guard let modified = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date,
                  now.timeIntervalSince(modified) > Self.orphanGraceSeconds else { continue }
            if try !ledger.spoolPathIsKnown("\(prefix)/\(name)") {
                unlinkIfPresent(url)
                removed += 1
            }
        }
        return removed
    }

    private func unlinkIfPresent(_ url: URL) {
        if unlink(url.path) != 0 && errno != ENOENT {
            logger.warning("cannot remove a file retention allows removing", metadata: ["file": "\(url.lastPathComponent)",
                                                                                       "errno": "\(errno)"])
        }
    }
}
