import Foundation

/// The received-instance store under `data_dir/spool`: objects arrive in `tmp/` and are moved
/// to `<2-hex prefix>/<sha256(SOP Instance UID)>.dcm` once complete. Names are hashes, so no
/// UID appears in the file system.
public struct Spool: Sendable {
    public let root: URL
    public var temporaryDirectory: URL { root.appendingPathComponent("tmp") }

    /// `tmp/` of the spool under `dataDirectory`: partial files, cleared at every start. The HTTP
    /// routes keep request bodies there too, so nothing depends on the system's TMPDIR.
    public static func temporaryDirectory(dataDirectory: URL) -> URL {
        DataDirectory(dataDirectory).spoolTemporary
    }

    public init(dataDirectory: URL) throws {
        root = DataDirectory(dataDirectory).spool
        try DurableFile.makeDirectory(temporaryDirectory)
        // Leftovers in tmp/ are transfers that never got an answer: nothing refers to them.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporaryDirectory.path)) ?? [] {
            try? FileManager.default.removeItem(at: temporaryDirectory.appendingPathComponent(name))
        }
        // The 256 prefix folders exist from the start, made durable once here, so receiving an
        // instance never creates a folder (and fsyncs the spool root for it) before its answer.
        for prefix in 0..<256 {
            try DurableFile.makeDirectory(root.appendingPathComponent(String(format: "%02x", prefix)), synced: false)
        }
        try DurableFile.fsync(path: root.path)
    }

    /// A fresh name in tmp/ for one incoming transfer.
    public func temporaryFile() -> URL {
        temporaryDirectory.appendingPathComponent("\(UUID().uuidString).part")
    }

    /// Path of an instance relative to the spool root (stored in the ledger).
    public func relativePath(sopInstanceUID: String) -> String {
        let hash = UIDHash.full(sopInstanceUID)
        return "\(hash.prefix(2))/\(hash).dcm"
    }

    public func url(relativePath: String) -> URL { root.appendingPathComponent(relativePath) }

    /// Makes a received temporary file durable under its final name; returns the relative path.
    public func commit(_ temporary: URL, sopInstanceUID: String) throws -> String {
        let relative = relativePath(sopInstanceUID: sopInstanceUID)
        try DurableFile.commit(temporary, to: url(relativePath: relative))
        return relative
    }
}
