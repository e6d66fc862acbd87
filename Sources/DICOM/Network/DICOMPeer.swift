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

/// Result of one file in `StorageSCU.send`.
public struct StoreOutcome: Sendable {
    public var file: URL
    public var sopInstanceUID: String?
    /// The peer's C-STORE response status; nil when no response came (see `error`).
    public var status: DIMSEStatus?
    public var error: String?

    public init(file: URL, sopInstanceUID: String?, status: DIMSEStatus?, error: String?) {
        self.file = file
        self.sopInstanceUID = sopInstanceUID
        self.status = status
        self.error = error
    }
}
