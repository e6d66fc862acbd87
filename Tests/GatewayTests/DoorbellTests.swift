import XCTest
@testable import Gateway

/// Loops sleep on a doorbell: a ring wakes one of them, `ringAll` (stop) every one, and a ring
/// that comes between a loop's look for work and its wait is not slept through.
final class DoorbellTests: XCTestCase {
    func testRingWakesOneBlockedWaiterAndRingAllWakesTheRest() throws {
        let bell = Doorbell()
        let woken = DispatchSemaphore(value: 0)
        let count = Counter()
        for _ in 0..<3 {
            Thread {
                bell.waitBlocking(after: bell.ticket(), upTo: 30)
                count.add()
                woken.signal()
            }.start()
        }
        Thread.sleep(forTimeInterval: 0.3) // all three are waiting
        bell.ring()
        XCTAssertEqual(woken.wait(timeout: .now() + 10), .success)
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertEqual(count.value, 1, "one ring, one sender")
        bell.ringAll()
        for _ in 0..<2 { XCTAssertEqual(woken.wait(timeout: .now() + 10), .success) }
        XCTAssertEqual(count.value, 3)
    }

    func testRingWakesOneSuspendedTaskAndRingAllWakesTheRest() async throws {
        let bell = Doorbell()
        let woken = Counter()
        var tasks: [Task<Void, Never>] = []
        for _ in 0..<3 {
            tasks.append(Task.detached {
                await bell.wait(after: bell.ticket(), upTo: 30)
                woken.add()
            })
        }
        try await Task.sleep(nanoseconds: 300_000_000) // all three are suspended
        bell.ring()
        try await waitUntil { woken.value >= 1 }
        try await Task.sleep(nanoseconds: 300_000_000)
        XCTAssertEqual(woken.value, 1, "one ring, one worker")
        bell.ringAll()
        for t in tasks { await t.value }
        XCTAssertEqual(woken.value, 3)
    }

    /// The ring lands after the ticket but before the wait: both kinds of wait return at once
    /// (a 30 s deadline would hang the test), and a fresh ticket waits again.
    func testRingBetweenTicketAndWaitIsNotSleptThrough() async throws {
        let bell = Doorbell()
        let ticket = bell.ticket()
        bell.ring()
        await bell.wait(after: ticket, upTo: 30)
        bell.waitBlocking(after: ticket, upTo: 30)
        let fresh = Counter()
        let task = Task.detached { await bell.wait(after: bell.ticket(), upTo: 30); fresh.add() }
        try await Task.sleep(nanoseconds: 300_000_000)
        XCTAssertEqual(fresh.value, 0, "a ring before the ticket does not end a later wait")
        bell.ringAll()
        await task.value
        XCTAssertEqual(fresh.value, 1)
    }

    /// Without a ring, a wait ends at its deadline.
    func testWaitsEndAtTheirDeadlineWithoutARing() async {
        let bell = Doorbell()
        await bell.wait(after: bell.ticket(), upTo: 0.1)
        bell.waitBlocking(after: bell.ticket(), upTo: 0.1)
    }

    private func waitUntil(_ condition: @Sendable () -> Bool) async throws {
        for _ in 0..<1000 where !condition() { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertTrue(condition())
    }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
    func add() { lock.lock(); count += 1; lock.unlock() }
}
