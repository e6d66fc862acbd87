import Foundation

/// Sends Part 10 files by C-STORE and checks peers by C-ECHO.
public enum StorageSCU {
    /// One association; proposes each file's SOP class with its own transfer syntax, plus
    /// Explicit/Implicit VR Little Endian as fallback. Association-level failures throw
    /// `DICOMNetworkError`; per-file failures land in the outcome.
    public static func send(_ files: [URL], to peer: DICOMPeer) throws -> [StoreOutcome] {
        throw DICOMNetworkError.notImplemented("StorageSCU.send")
    }

    /// C-ECHO; throws when the association fails or the status is not 0000.
    public static func echo(_ peer: DICOMPeer) throws {
        throw DICOMNetworkError.notImplemented("StorageSCU.echo")
    }
}
