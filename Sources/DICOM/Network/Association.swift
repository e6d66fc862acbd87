/// What a peer asked for when it opened an association; handed to the delegate to accept or refuse.
public struct AssociationRequest: Sendable {
    public var callingAETitle: String
    public var calledAETitle: String
    /// IP address of the peer (DCMTK 3.6.7's own host check is broken, so Swift decides).
    public var peerAddress: String

    public init(callingAETitle: String, calledAETitle: String, peerAddress: String) {
        self.callingAETitle = callingAETitle
        self.calledAETitle = calledAETitle
        self.peerAddress = peerAddress
    }
}

/// Why an association is refused (PS3.8 A-ASSOCIATE-RJ). Source is always 1 (service user).
public enum AssociationRejection: Sendable, Equatable {
    /// Result 1 (permanent), source 1, reason 3.
    case callingAETitleNotRecognized
    /// Result 1 (permanent), source 1, reason 7.
    case calledAETitleNotRecognized
    /// Source 1, reason 1; `permanent` picks result 1 (permanent) or 2 (transient).
    case noReasonGiven(permanent: Bool)
}
