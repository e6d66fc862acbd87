import Foundation

/// A pool of DCMTK worker threads receiving C-STORE and C-ECHO; every decision goes to the delegate.
public final class StorageSCP: @unchecked Sendable {
    public let configuration: StorageSCPConfiguration
    private let delegate: StorageSCPDelegate

    public init(configuration: StorageSCPConfiguration, delegate: StorageSCPDelegate) throws {
        self.configuration = configuration
        self.delegate = delegate
    }

    /// Binds and returns once listening; serves on its own threads.
    public func start() throws {
        throw DICOMNetworkError.notImplemented("StorageSCP.start")
    }

    /// Stops accepting, lets open associations finish, returns when done.
    public func stop() {}

    /// The port actually bound (useful with port 0); 0 before `start()`.
    public var boundPort: UInt16 { 0 }
}
