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

/// How an association the delegate accepted ended; reported exactly once for each.
public enum AssociationEnd: Sendable, Equatable {
    /// A-RELEASE after it was acknowledged.
    case released
    /// A-ABORT, a broken connection, a DIMSE error or timeout.
    case aborted
    /// Refused after the delegate accepted it: none of the proposed presentation contexts fits.
    case noAcceptablePresentationContext
    /// Refused by DCMTK's own checks after the delegate accepted it (e.g. the application context).
    case refused
}
