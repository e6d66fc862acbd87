import DICOM
import Foundation

/// What tells two datasets sent under one SOP Instance UID apart: the SHA-256 of the dataset's
/// bytes after the meta header (the meta header differs by sender and receiver for the same
/// instance; the dataset is stored byte for byte as received). Kept in the ledger per instance.
enum InstanceContentHash {
    /// Lower-case hex SHA-256 of the file's bytes from `offset` to its end.
    static func sha256(of file: URL, from offset: Int) throws -> String {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        var hasher = SHA256.Hasher()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return SHA256.hex(digest: hasher.finalize())
    }
}
