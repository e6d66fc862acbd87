/// Failures of the DICOM network layer; each message says what went wrong and what to try.
public enum DICOMNetworkError: Error, Sendable, Equatable, CustomStringConvertible {
    case notImplemented(String)
    /// The SCP could not start (port in use, bad TLS files, ...).
    case cannotListen(port: UInt16, reason: String)
    case invalidConfiguration(String)
    /// TCP connection failed (peer down, refused, unreachable, timeout).
    case connectionFailed(host: String, port: UInt16, reason: String)
    /// The peer answered A-ASSOCIATE-RJ.
    case associationRejected(result: UInt8, source: UInt8, reason: UInt8, description: String)
    /// The peer accepted none of the presentation contexts needed.
    case noAcceptablePresentationContext(String)
    case tlsFailed(String)
    /// The association broke (abort, timeout, protocol error).
    case associationFailed(String)
    case echoFailed(status: UInt16)
    /// DCMTK found no data dictionary, so it could not read any message.
    case dataDictionaryMissing(path: String?)

    public var description: String {
        switch self {
        case .notImplemented(let what):
            return "\(what) is not implemented yet"
        case .cannotListen(let port, let reason):
            return "cannot listen on port \(port): \(reason); pick a free port or fix the TLS files"
        case .invalidConfiguration(let message):
            return "invalid DICOM network configuration: \(message)"
        case .connectionFailed(let host, let port, let reason):
            return "cannot connect to \(host):\(port): \(reason); check that the peer is running and the host/port are right"
        case .associationRejected(let result, let source, let reason, let description):
            return "association rejected by peer (result \(result), source \(source), reason \(reason): \(description)); check AE titles and the peer's configuration"
        case .noAcceptablePresentationContext(let message):
            return "peer accepted no presentation context: \(message); check which SOP classes and transfer syntaxes it accepts"
        case .tlsFailed(let message):
            return "TLS failed: \(message); check certificates, key and trusted certificates on both sides"
        case .associationFailed(let message):
            return "association failed: \(message)"
        case .echoFailed(let status):
            return "C-ECHO answered status \(DIMSEStatus(code: status).hex)"
        case .dataDictionaryMissing(let path):
            let from = path.map { "DCMDICTPATH=\($0)" } ?? "the dcmtk package's dicom.dic"
            return "DCMTK's data dictionary could not be loaded from \(from); install the dcmtk package, or point DCMDICTPATH at its dicom.dic"
        }
    }
}
