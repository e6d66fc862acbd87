import XCTest
@testable import Gateway

/// Delivery senders sleep on a doorbell: a ring wakes one of them, `ringAll` (stop) every one.
final class DoorbellTests: XCTestCase {
    func testRingWakesOneBlockedWaiterAndRingAllWakesTheRest() throws {
        let bell = Doorbell()
        let woken = DispatchSemaphore(value: 0)
        let lock = NSLock()
        var count = 0
        for _ in 0..<3 {
            Thread {
                bell.waitBlocking(upTo: 30)
                lock.lock(); count += 1; lock.unlock()
                woken.signal()
            }.start()
        }
        Thread.sleep(forTimeInterval: 0.3) // all three are waiting
        bell.ring()
        XCTAssertEqual(woken.wait(timeout: .now() + 10), .success)
        Thread.sleep(forTimeInterval: 0.3)
        lock.lock(); XCTAssertEqual(count, 1, "one ring, one sender"); lock.unlock()
        bell.ringAll()
        for _ in 0..<2 { XCTAssertEqual(woken.wait(timeout: .now() + 10), .success) }
        lock.lock(); XCTAssertEqual(count, 3); lock.unlock()
    }
}
