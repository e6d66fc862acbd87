import Foundation

/// Wakes sleeping loops early when new work arrives; they also wake on their own when the
/// next retry falls due, so a missed ring only costs latency, never work.
///
/// A loop takes a `ticket` before it looks for work and waits past it: a ring that comes
/// between the look and the wait then ends the wait at once instead of being slept through.
/// Waiting costs nothing while nothing rings: blocked threads sit on a condition variable and
/// tasks on a continuation, with one timer for their deadline, no polling.
final class Doorbell: @unchecked Sendable {
    /// The rings counted when it was taken.
    struct Ticket { fileprivate let rings: UInt64 }

    // `rings`, `sleepers` and `nextSleeper` are guarded by `condition`.
    private let condition = NSCondition()
    private var rings: UInt64 = 0
    private var sleepers: [(id: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
    private var nextSleeper: UInt64 = 0

    func ticket() -> Ticket {
        condition.lock(); defer { condition.unlock() }
        return Ticket(rings: rings)
    }

    /// Wakes one waiter: one new job is one worker's, one job's objects one sender's batch, and
    /// waking every waiter only had the others query the ledger for nothing. A loop that finds
    /// more than its share rings again.
    func ring() {
        condition.lock()
        rings &+= 1
        condition.signal()
        let woken = sleepers.isEmpty ? nil : sleepers.removeFirst()
        condition.unlock()
        woken?.continuation.resume()
    }

    /// Wakes every waiter: for stopping.
    func ringAll() {
        condition.lock()
        rings &+= 1
        condition.broadcast()
        let woken = sleepers
        sleepers.removeAll()
        condition.unlock()
        for s in woken { s.continuation.resume() }
    }

    /// For tasks: suspends (holding no thread) until a ring after `ticket`, or `seconds` passed.
    func wait(after ticket: Ticket, upTo seconds: Double) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            condition.lock()
            guard rings == ticket.rings else { condition.unlock(); c.resume(); return }
            let id = nextSleeper
            nextSleeper &+= 1
            sleepers.append((id, c))
            condition.unlock()
            DispatchQueue.global().asyncAfter(deadline: .now() + max(0, seconds)) { [self] in expire(id) }
        }
    }

    /// A sleeper's deadline: resumes it unless a ring already did.
    private func expire(_ id: UInt64) {
        condition.lock()
        let index = sleepers.firstIndex { $0.id == id }
        let woken = index.map { sleepers.remove(at: $0) }
        condition.unlock()
        woken?.continuation.resume()
    }

    /// For dedicated threads: blocks until a ring after `ticket`, or `seconds` passed.
    func waitBlocking(after ticket: Ticket, upTo seconds: Double) {
        condition.lock()
        let deadline = Date().addingTimeInterval(max(0, seconds))
        while rings == ticket.rings && condition.wait(until: deadline) {}
        condition.unlock()
    }
}

/// A flag shared between the service and its loops.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}
