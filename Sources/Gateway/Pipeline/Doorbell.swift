import Foundation

/// Wakes sleeping loops early when new work arrives; they also wake on their own when the
/// next retry falls due, so a missed ring only costs latency, never work.
final class Doorbell: @unchecked Sendable {
    // `rings` is guarded by `condition`.
    private let condition = NSCondition()
    private var rings: UInt64 = 0

    /// Wakes one thread blocked in `waitBlocking` (and every polling task): one new job's
    /// objects are one sender's batch, and waking every sender only had the others query the
    /// ledger for nothing. A sender that finds more than a batch rings again.
    func ring() {
        condition.lock()
        rings &+= 1
        condition.signal()
        condition.unlock()
    }

    /// Wakes every waiter: for stopping.
    func ringAll() {
        condition.lock()
        rings &+= 1
        condition.broadcast()
        condition.unlock()
    }

    private var current: UInt64 {
        condition.lock(); defer { condition.unlock() }
        return rings
    }

    /// For tasks: sleeps (without blocking a pool thread) until rung, `seconds` passed, or `stop()`.
    func wait(upTo seconds: Double, stop: @Sendable () -> Bool) async {
        let start = current
        let deadline = Date().addingTimeInterval(max(0, seconds))
        while Date() < deadline && current == start && !stop() {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    /// For dedicated threads: blocks until rung or `seconds` passed.
    func waitBlocking(upTo seconds: Double) {
        condition.lock()
        let start = rings
        let deadline = Date().addingTimeInterval(max(0, seconds))
        while rings == start && condition.wait(until: deadline) {}
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
