import Foundation

/// Wakes sleeping loops early when new work arrives; they also wake on their own when the
/// next retry falls due, so a missed ring only costs latency, never work.
final class Doorbell: @unchecked Sendable {
    private let lock = NSLock()
    private var rings: UInt64 = 0

    func ring() {
        lock.lock(); rings &+= 1; lock.unlock()
    }

    private var current: UInt64 {
        lock.lock(); defer { lock.unlock() }
        return rings
    }

    /// Sleeps until rung, `seconds` passed, or `stop()` says to quit.
    func wait(upTo seconds: Double, stop: @Sendable () -> Bool) async {
        let start = current
        let deadline = Date().addingTimeInterval(max(0, seconds))
        while Date() < deadline && current == start && !stop() {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
    }
}

/// A flag shared between the service and its loops.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}
