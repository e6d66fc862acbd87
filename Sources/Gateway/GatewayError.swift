import Foundation

/// Why the gateway cannot start or run; each message says what to do.
public enum GatewayError: Error, Sendable, CustomStringConvertible {
    case dataDirectory(path: String, reason: String)
    case ledgerUnavailable(path: String, reason: String)
    case listenerFailed(port: UInt16, reason: String)
    case httpStartFailed(address: String, port: Int, reason: String)
    case unknownDestination(name: String, known: [String])

    public var description: String {
        switch self {
        case .dataDirectory(let path, let reason):
            return "data directory '\(path)' is unusable: \(reason); fix permissions or change [gateway] data_dir"
        case .ledgerUnavailable(let path, let reason):
            return "cannot open the ledger '\(path)': \(reason); check the file is not corrupt and the disk is writable"
        case .listenerFailed(let port, let reason):
            return "DICOM listener on port \(port) failed: \(reason); pick a free port in [gateway] port or fix [tls]"
        case .httpStartFailed(let address, let port, let reason):
            return "HTTP server on \(address):\(port) failed: \(reason); pick a free [http] port"
        case .unknownDestination(let name, let known):
            return "no destination named '\(name)'; configured: \(known.isEmpty ? "none" : known.joined(separator: ", "))"
        }
    }
}
