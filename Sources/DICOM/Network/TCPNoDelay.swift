import Foundation

/// DICOM messages are small writes answered by the peer (a command, then its dataset; a
/// response): with Nagle's algorithm on, each one waits out the peer's delayed ACK, about 40 ms
/// per C-STORE on Linux. The DCMTK 3.6.7 build in Debian leaves Nagle on unless the environment
/// variable `TCP_NODELAY` is 1, and reads it whenever it opens a socket; so every network entry
/// point sets it once, before the first DCMTK call. An admin's own `TCP_NODELAY` is kept.
enum TCPNoDelay {
    /// Evaluated once, thread-safely, before any DCMTK socket exists (Swift runs a static
    /// initializer exactly once), so no DCMTK thread reads the environment while it changes.
    static let ensured: Bool = {
        setenv("TCP_NODELAY", "1", 0)
        return String(cString: getenv("TCP_NODELAY")) != "0"
    }()

    static func ensure() { _ = ensured }
}
