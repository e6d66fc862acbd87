import Foundation

/// What the sweeper asks of the ledger. A job is *finished* when it ended (analysed, failed or
/// quarantined) and every delivery of its objects is delivered; `finished_at` is when the last one
/// was. Only finished jobs' images and records are ever removed.
public protocol RetentionLedger: Sendable {
    /// Stamps `finished_at` on jobs that have become finished; returns how many.
    func settleFinishedJobs(limit: Int) throws -> Int
    /// Finished jobs whose image is still in the spool, oldest finish first; `finishedBefore`
    /// nil: whatever their age (the spool's ceiling).
    func imagesToRemove(finishedBefore: Date?, limit: Int) throws -> [RetainedImage]
    /// Records that the images' spool files are gone.
    func markImagesRemoved(_ instanceIDs: [Int64], now: Date) throws
    /// Finished jobs older than `finishedBefore` whose image is gone, with their objects' paths.
    func recordsToPrune(finishedBefore: Date, limit: Int) throws -> [PrunableJob]
    /// Deletes the jobs' rows: deliveries, objects, job, instance.
    func prune(_ jobs: [PrunableJob]) throws
    /// The spool as the ledger knows it: images not removed, their bytes, the oldest receipt.
    func spoolUsage() throws -> SpoolUsage
    /// Whether some instance row names this spool path (for files nothing refers to).
    func spoolPathIsKnown(_ relativePath: String) throws -> Bool
}

public struct RetainedImage: Sendable, Equatable {
    public var instanceID: Int64
    /// Relative to the spool root.
    public var spoolPath: String
    public var sizeBytes: Int64
    public var finishedAt: Date
}

public struct PrunableJob: Sendable, Equatable {
    public var jobID: Int64
    public var instanceID: Int64
    /// Outbox files of its objects, relative to the data directory (some may not exist).
    public var objectPaths: [String]
}

public struct SpoolUsage: Sendable, Equatable {
    public var images: Int
    public var bytes: Int64
    public var oldestReceivedAt: Date?
}
