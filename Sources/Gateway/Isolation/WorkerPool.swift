import Foundation
import Logging

/// How to start one analysis worker process.
public struct WorkerLaunch: Sendable {
    public var executable: String
    public var arguments: [String]
    /// How long a new worker may take to load its model and say it is ready.
    public var startupTimeout: Double

    public init(executable: String, arguments: [String], startupTimeout: Double = 60) {
        self.executable = executable
        self.arguments = arguments
        self.startupTimeout = startupTimeout
    }
}

/// A fixed number of worker processes, each lent to one request at a time. A worker that dies
/// or overruns its time is gone with that request; its slot starts a new one for the next.
/// Callers wait in line for a free worker (first come, first served).
public final class WorkerPool: @unchecked Sendable {
    // `slots`, `waiting` and `stopping` are guarded by `lock`. A slot's process is used only by
    // the caller holding the slot.
    private let launch: WorkerLaunch
    private let logger: Logger
    private let lock = NSLock()
    private var slots: [Slot]
    private var waiting: [CheckedContinuation<Slot?, Never>] = []
    private var stopping = false
    /// Workers started after the first ones (each one replaced a dead or killed worker).
    public private(set) var replacements = 0

    private final class Slot {
        var process: WorkerProcess?
        var started = false
    }

    public init(size: Int, launch: WorkerLaunch, logger: Logger) {
        self.launch = launch
        self.logger = logger
        slots = (0..<max(1, size)).map { _ in Slot() }
    }

    /// Callers waiting for a free worker now.
    public var waitingCount: Int { lock.withLock { waiting.count } }

    /// Starts every worker and waits until each is ready; returns their producer version.
    /// Throws `WorkerFailure.cannotStart` when one cannot start (e.g. the model does not load).
    public func start() throws -> String {
        var version = ""
        for slot in lock.withLock({ slots }) {
            version = try ensureProcess(slot)
        }
        return version
    }

    /// Runs one request on a free worker, off the caller's thread. `maxWaiting`: refuse with
    /// `.busy` instead of waiting when that many callers already wait.
    public func call(_ request: WorkerRequest, timeout: Double, maxWaiting: Int? = nil) async throws -> WorkerReply {
        guard let slot = await checkout(maxWaiting: maxWaiting) else {
            throw lock.withLock { stopping } ? WorkerFailure.stopped : WorkerFailure.busy
        }
        defer { checkin(slot) }
        return try await withCheckedThrowingContinuation { continuation in
            // A blocking wait on a pipe: a thread of its own, never one of the cooperative pool.
            Thread.detachNewThread { [self] in
                continuation.resume(with: Result { try self.run(request, on: slot, timeout: timeout) })
            }
        }
    }

    /// Kills every worker (idle ones at once; busy ones when their request ends) and refuses
    /// further calls.
    public func stop() {
        let (idle, waiters) = lock.withLock { () -> ([Slot], [CheckedContinuation<Slot?, Never>]) in
            stopping = true
            let w = waiting
            waiting = []
            let s = slots
            slots = []
            return (s, w)
        }
        for waiter in waiters { waiter.resume(returning: nil) }
        for slot in idle {
            slot.process?.kill()
            slot.process = nil
        }
    }

    private func run(_ request: WorkerRequest, on slot: Slot, timeout: Double) throws -> WorkerReply {
        _ = try ensureProcess(slot)
        do {
            return try slot.process!.call(request, timeout: timeout)
        } catch let failure as WorkerFailure {
            slot.process = nil
            logger.warning("analysis worker lost; a new one starts for the next image", metadata: ["why": "\(failure)"])
            throw failure
        }
    }

    /// The slot's live process, started (and awaited) when there is none.
    @discardableResult
    private func ensureProcess(_ slot: Slot) throws -> String {
        if slot.process != nil { return "" }
        let process = try WorkerProcess(executable: launch.executable, arguments: launch.arguments)
        let version = try process.awaitReady(timeout: launch.startupTimeout)
        slot.process = process
        if slot.started { lock.withLock { replacements += 1 } }
        slot.started = true
        return version
    }

    private func checkout(maxWaiting: Int?) async -> Slot? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Slot?, Never>) in
            lock.lock()
            if stopping {
                lock.unlock()
                continuation.resume(returning: nil)
            } else if let slot = slots.popLast() {
                lock.unlock()
                continuation.resume(returning: slot)
            } else if let maxWaiting, waiting.count >= maxWaiting {
                lock.unlock()
                continuation.resume(returning: nil)
            } else {
                waiting.append(continuation)
                lock.unlock()
            }
        }
    }

    private func checkin(_ slot: Slot) {
        lock.lock()
        if stopping {
            lock.unlock()
            slot.process?.kill()
            slot.process = nil
            return
        }
        if waiting.isEmpty {
            slots.append(slot)
            lock.unlock()
        } else {
            let next = waiting.removeFirst()
            lock.unlock()
            next.resume(returning: slot)
        }
    }
}
