import Foundation

/// A remote Application Entity we send to.
public struct DICOMPeer: Sendable {
    /// Called AE title (the peer's).
    public var aeTitle: String
    public var host: String
    public var port: UInt16
    /// Our AE title.
    public var callingAETitle: String
    public var tls: TLSConfiguration?
    /// Connect, ACSE and DIMSE timeout.
    public var timeoutSeconds: Int

    public init(aeTitle: String, host: String, port: UInt16, callingAETitle: String,
                tls: TLSConfiguration? = nil, timeoutSeconds: Int = 30) {
        self.aeTitle = aeTitle
        self.host = host
        self.port = port
        self.callingAETitle = callingAETitle
        self.tls = tls
        self.timeoutSeconds = timeoutSeconds
    }
}

/// What a C-STORE sends: a Part 10 file, or a Part 10 file's bytes already in memory (an object
/// just written, which then never touches the disk).
public enum StoreSource: Sendable {
    case file(URL)
    case bytes(Data)
}

/// Result of one object in `StorageSCU.send` / `StorageAssociation.send`.
public struct StoreOutcome: Sendable {
    public var source: StoreSource
    public var sopInstanceUID: String?
    /// The peer's C-STORE response status; nil when no response came (see `error`).
    public var status: DIMSEStatus?
    public var error: String?

    /// The file sent, nil for bytes from memory.
    public var file: URL? {
        if case .file(let url) = source { return url }
        return nil
    }

    public init(source: StoreSource, sopInstanceUID: String?, status: DIMSEStatus?, error: String?) {
        self.source = source
        self.sopInstanceUID = sopInstanceUID
        self.status = status
        self.error = error
    }
}
