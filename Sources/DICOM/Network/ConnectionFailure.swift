/// A connection to the Storage SCP that ended before the delegate was asked about an association,
/// or that the SCP refused on its own (limits). Reported once per connection.
public struct ConnectionFailure: Sendable, Equatable {
    /// The peer's IP address; empty when accept() itself failed.
    public var peerAddress: String
    public var reason: ConnectionFailureReason
    /// What DCMTK or OpenSSL said; may contain AE titles, never UIDs.
    public var message: String

    public init(peerAddress: String, reason: ConnectionFailureReason, message: String) {
        self.peerAddress = peerAddress
        self.reason = reason
        self.message = message
    }
}

public enum ConnectionFailureReason: String, Sendable, CaseIterable {
    /// Closed without sending an A-ASSOCIATE-RQ (a port probe, a TCP health check).
    case closedBeforeRequest = "closed_before_request"
    /// No complete A-ASSOCIATE-RQ (TLS handshake included) within the ACSE timeout: cut off.
    case deadlineExpired = "deadline_expired"
    /// The TLS handshake failed: no or an untrusted certificate, plain DICOM on the TLS port, ...
    case tlsHandshakeFailed = "tls_handshake_failed"
    /// What arrived is not a well-formed A-ASSOCIATE-RQ (another protocol, a broken peer).
    case malformedPDU = "malformed_pdu"
    /// Every association slot is busy: refused transient, "local limit exceeded".
    case associationLimit = "association_limit"
    /// As many connections as allowed are in their handshake: closed at once.
    case handshakeLimit = "handshake_limit"
    /// The SCP stopped while the connection was in its handshake.
    case stopping = "stopping"
    /// accept() or the socket set-up failed (out of descriptors, ...).
    case networkError = "network_error"

    /// The metric label and log value.
    public var label: String { rawValue }
}
