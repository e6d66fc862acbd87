import Foundation

/// Every folder and file the gateway keeps under `[gateway] data_dir`, named in one place:
///
/// | path | what |
/// |---|---|
/// | `spool/<2 hex>/<sha256>.dcm` | received instances, as the modality sent them |
/// | `spool/tmp/` | transfers under way and HTTP request bodies; cleared at start |
/// | `ledger.sqlite` | the ledger (and SQLite's `-wal`, `-shm` beside it) |
/// | `outbox/jobs/<job>/<file>` | a job's objects waiting for a destination (or kept for good when there is none) |
/// | `outbox/<name>/` | a folder destination's default root |
///
/// Job objects live in `outbox/jobs/`, a folder no destination may use, so that a folder
/// destination named like a job number never shares a folder with that job's objects (before,
/// both were `outbox/<n>/`; `LegacyOutboxLayout` moves such objects at start).
public struct DataDirectory: Sendable, Equatable {
    public let root: URL

    public init(_ root: URL) { self.root = root.standardizedFileURL }

    public var spool: URL { root.appendingPathComponent("spool") }
    public var spoolTemporary: URL { spool.appendingPathComponent("tmp") }
    public var ledgerFile: URL { root.appendingPathComponent("ledger.sqlite") }
    public var outbox: URL { root.appendingPathComponent("outbox") }
    public var jobObjects: URL { root.appendingPathComponent(Self.jobObjectsPath) }

    /// `jobObjects` relative to `root`.
    static let jobObjectsPath = "outbox/jobs"

    /// A job's object, relative to `root` (as the ledger records it).
    public static func jobObjectPath(job: Int64, file: String) -> String { "\(jobObjectsPath)/\(job)/\(file)" }

    /// The folder of a job's objects.
    public func jobFolder(_ job: Int64) -> URL { jobObjects.appendingPathComponent("\(job)") }

    /// A path the ledger gave (relative to `root`) as a file.
    public func file(_ relativePath: String) -> URL { root.appendingPathComponent(relativePath) }

    /// Where a folder destination without a `path` writes, relative to `root`.
    public static func defaultFolderDestinationPath(name: String) -> String { "outbox/\(name)" }

    /// Why a folder destination may not write to `folder`, or nil when it may: the gateway's
    /// own folders are neither inside nor around a destination's tree.
    public func conflict(withDestinationFolder folder: URL) -> String? {
        let path = folder.standardizedFileURL.path
        for (own, what) in [(spool, "the spool of received images"), (jobObjects, "the objects waiting for delivery"),
                            (ledgerFile, "the ledger")] {
            if path == own.path || path.hasPrefix(own.path + "/") { return "it lies in \(own.path), \(what)" }
            if own.path.hasPrefix(path + "/") { return "it holds \(own.path), \(what)" }
        }
        return nil
    }

    /// Folders and files whose permissions `PrivateFiles` checks.
    var privateEntries: [URL] { [root, spool, outbox, ledgerFile] }
}
