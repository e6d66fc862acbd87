import DICOM

/// How UIDs appear outside the ledger: a short hash, never the UID itself (UIDs can carry PHI
/// such as dates and device serials, and link records across systems).
public enum UIDHash {
    /// 64 hex characters; names spool files.
    public static func full(_ uid: String) -> String { SHA256.hex(uid) }
    /// 12 hex characters; for logs, metrics and the jobs API.
    public static func short(_ uid: String) -> String { String(SHA256.hex(uid).prefix(12)) }
}
