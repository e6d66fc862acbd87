import Foundation

/// The analysis in worker processes: each request goes to a `WorkerPool` worker, so an image
/// that crashes or hangs the decoder or the model takes down that worker, never the gateway.
public final class IsolatedProcessor: InstanceProcessor, @unchecked Sendable {
    public let pool: WorkerPool
    public let producerVersion: String
    private let timeout: Double

    /// Starts the workers and waits until they are ready (throws `WorkerFailure.cannotStart`).
    public init(pool: WorkerPool, imageTimeoutSeconds: Double) throws {
        self.pool = pool
        timeout = imageTimeoutSeconds
        producerVersion = try pool.start()
    }

    public func process(_ instance: ReceivedInstance, making kinds: Set<OutputKind>) async throws -> [ProducedObject] {
        try objects(from: await call(.analyze(instance, kinds: kinds.sorted { $0.rawValue < $1.rawValue })))
    }

    public func unavailableReport(_ instance: ReceivedInstance, reason: String) async throws -> [ProducedObject] {
        try objects(from: await call(.unavailable(instance, reason: reason)))
    }

    private func call(_ request: WorkerRequest) async throws -> WorkerReply {
        do {
            return try await pool.call(request, timeout: timeout)
        } catch let failure as WorkerFailure {
            switch failure {
            case .died, .timedOut: throw ProcessingError.workerFailed(failure.description)
            case .cannotStart, .busy, .stopped: throw ProcessingError.transient(failure.description)
            }
        }
    }

    private func objects(from reply: WorkerReply) throws -> [ProducedObject] {
        switch reply {
        case .objects(let objects): return objects
        case .failed(let permanent, let reason):
            throw permanent ? ProcessingError.permanent(reason) : ProcessingError.transient(reason)
        case .ready, .http: throw ProcessingError.transient("the analysis worker answered out of turn")
        }
    }
}
