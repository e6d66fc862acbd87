import Foundation
import XCTest
@testable import Gateway

/// The outbox's objects held in memory: a byte budget taken per job, let go after the last
/// destination, written to their files when a delivery waits for a retry.
final class OutboxMemoryTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try Tools.temporaryDirectory("outbox-memory") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func bytes(_ count: Int, _ value: UInt8) -> Data { Data(repeating: value, count: count) }

    func testAJobIsHeldWholeOrNotAtAll() {
        let memory = OutboxMemory(dataDirectory: dir, capacity: 1000)
        XCTAssertTrue(memory.hold([("outbox/1/seg.dcm", bytes(400, 1), 1), ("outbox/1/sr.dcm", bytes(300, 2), 1)]))
        XCTAssertEqual(memory.heldBytes, 700)
        XCTAssertFalse(memory.hold([("outbox/2/seg.dcm", bytes(200, 3), 1), ("outbox/2/sr.dcm", bytes(200, 4), 1)]),
                       "900 bytes more do not fit in 1000")
        XCTAssertNil(memory.data("outbox/2/seg.dcm"), "none of a job that does not fit is held")
        XCTAssertEqual(memory.heldBytes, 700)
        // A job analysed again replaces its objects instead of counting them twice.
        XCTAssertTrue(memory.hold([("outbox/1/seg.dcm", bytes(500, 5), 1), ("outbox/1/sr.dcm", bytes(300, 2), 1)]))
        XCTAssertEqual(memory.heldBytes, 800)
        XCTAssertEqual(memory.data("outbox/1/seg.dcm"), bytes(500, 5))
    }

    func testAnObjectIsLetGoAfterItsLastDestination() {
        let memory = OutboxMemory(dataDirectory: dir, capacity: 1000)
        XCTAssertTrue(memory.hold([("outbox/1/seg.dcm", bytes(100, 1), 2)]))
        memory.done("outbox/1/seg.dcm")
        XCTAssertEqual(memory.data("outbox/1/seg.dcm"), bytes(100, 1), "the second destination still needs it")
        memory.done("outbox/1/seg.dcm")
        XCTAssertNil(memory.data("outbox/1/seg.dcm"))
        XCTAssertEqual(memory.heldBytes, 0)
        memory.done("outbox/1/seg.dcm")  // not held: nothing happens
        XCTAssertEqual(memory.heldBytes, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("outbox/1").path), "nothing was written")
    }

    func testASpilledObjectIsInItsOutboxFileAndNoLongerHeld() throws {
        let memory = OutboxMemory(dataDirectory: dir, capacity: 1000)
        XCTAssertTrue(memory.hold([("outbox/7/seg.dcm", bytes(100, 1), 1), ("outbox/7/sr.dcm", bytes(50, 2), 1)]))
        try memory.spill("outbox/7/seg.dcm")
        XCTAssertNil(memory.data("outbox/7/seg.dcm"))
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("outbox/7/seg.dcm")), bytes(100, 1))
        XCTAssertEqual(memory.heldBytes, 50)
        try memory.spill("outbox/7/other.dcm")  // not held: nothing written
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("outbox/7/other.dcm").path))
        XCTAssertEqual(memory.spillAll(), [])
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("outbox/7/sr.dcm")), bytes(50, 2))
        XCTAssertEqual(memory.heldBytes, 0)
    }

    /// A full disk (here: the outbox cannot be made) keeps the object in memory, not lost.
    func testAnObjectThatCannotBeWrittenStaysHeld() throws {
        let notADirectory = dir.appendingPathComponent("data")
        try Data("x".utf8).write(to: notADirectory)
        let memory = OutboxMemory(dataDirectory: notADirectory, capacity: 1000)
        XCTAssertTrue(memory.hold([("outbox/1/seg.dcm", bytes(100, 1), 1)]))
        XCTAssertThrowsError(try memory.spill("outbox/1/seg.dcm"))
        XCTAssertEqual(memory.data("outbox/1/seg.dcm"), bytes(100, 1))
        XCTAssertEqual(memory.spillAll(), ["outbox/1/seg.dcm"])
        XCTAssertEqual(memory.heldBytes, 100)
        memory.drop(["outbox/1/seg.dcm"])
        XCTAssertEqual(memory.heldBytes, 0)
    }
}
