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
        let memory = OutboxMemory(data: DataDirectory(dir), capacity: 1000)
        XCTAssertTrue(memory.hold([("outbox/jobs/1/seg.dcm", bytes(400, 1), ["pacs"]), ("outbox/jobs/1/sr.dcm", bytes(300, 2), ["pacs"])]))
        XCTAssertEqual(memory.heldBytes, 700)
        XCTAssertFalse(memory.hold([("outbox/jobs/2/seg.dcm", bytes(200, 3), ["pacs"]), ("outbox/jobs/2/sr.dcm", bytes(200, 4), ["pacs"])]),
                       "900 bytes more do not fit in 1000")
        XCTAssertNil(memory.data("outbox/jobs/2/seg.dcm"), "none of a job that does not fit is held")
        XCTAssertEqual(memory.heldBytes, 700)
        // A job analysed again replaces its objects instead of counting them twice.
        XCTAssertTrue(memory.hold([("outbox/jobs/1/seg.dcm", bytes(500, 5), ["pacs"]), ("outbox/jobs/1/sr.dcm", bytes(300, 2), ["pacs"])]))
        XCTAssertEqual(memory.heldBytes, 800)
        XCTAssertEqual(memory.data("outbox/jobs/1/seg.dcm"), bytes(500, 5))
    }

    func testAnObjectIsLetGoAfterItsLastDestination() {
        let memory = OutboxMemory(data: DataDirectory(dir), capacity: 1000)
        XCTAssertTrue(memory.hold([("outbox/jobs/1/seg.dcm", bytes(100, 1), ["pacs", "archive"])]))
        memory.done("outbox/jobs/1/seg.dcm", destination: "pacs")
        memory.done("outbox/jobs/1/seg.dcm", destination: "pacs")  // said twice, still one destination
        XCTAssertEqual(memory.data("outbox/jobs/1/seg.dcm"), bytes(100, 1), "the second destination still needs it")
        memory.done("outbox/jobs/1/seg.dcm", destination: "archive")
        XCTAssertNil(memory.data("outbox/jobs/1/seg.dcm"))
        XCTAssertEqual(memory.heldBytes, 0)
        memory.done("outbox/jobs/1/seg.dcm", destination: "archive")  // not held: nothing happens
        XCTAssertEqual(memory.heldBytes, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("outbox/jobs/1").path), "nothing was written")
    }

    func testASpilledObjectIsInItsOutboxFileAndNoLongerHeld() throws {
        let memory = OutboxMemory(data: DataDirectory(dir), capacity: 1000)
        XCTAssertTrue(memory.hold([("outbox/jobs/7/seg.dcm", bytes(100, 1), ["pacs"]), ("outbox/jobs/7/sr.dcm", bytes(50, 2), ["pacs"])]))
        try memory.spill("outbox/jobs/7/seg.dcm")
        XCTAssertNil(memory.data("outbox/jobs/7/seg.dcm"))
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("outbox/jobs/7/seg.dcm")), bytes(100, 1))
        XCTAssertEqual(memory.heldBytes, 50)
        try memory.spill("outbox/jobs/7/other.dcm")  // not held: nothing written
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("outbox/jobs/7/other.dcm").path))
        XCTAssertEqual(memory.spillAll(), [])
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("outbox/jobs/7/sr.dcm")), bytes(50, 2))
        XCTAssertEqual(memory.heldBytes, 0)
    }

    /// A destination that is down has its objects written out; those others still wait for stay.
    func testSpillingForADestinationWritesOnlyWhatItStillWaitsFor() throws {
        let memory = OutboxMemory(data: DataDirectory(dir), capacity: 1000)
        XCTAssertTrue(memory.hold([("outbox/jobs/1/seg.dcm", bytes(100, 1), ["pacs"]),
                                   ("outbox/jobs/1/result.json", bytes(10, 2), ["archive"])]))
        XCTAssertTrue(memory.hold([("outbox/jobs/2/seg.dcm", bytes(100, 3), ["pacs", "archive"])]))
        memory.done("outbox/jobs/2/seg.dcm", destination: "pacs")
        XCTAssertEqual(memory.spill(waitingFor: "pacs"), [])
        XCTAssertNil(memory.data("outbox/jobs/1/seg.dcm"))
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("outbox/jobs/1/seg.dcm")), bytes(100, 1))
        XCTAssertEqual(memory.data("outbox/jobs/1/result.json"), bytes(10, 2), "the archive's object stays")
        XCTAssertEqual(memory.data("outbox/jobs/2/seg.dcm"), bytes(100, 3), "the PACS has this one already")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("outbox/jobs/2").path))
        XCTAssertEqual(memory.heldBytes, 110)
    }

    /// A full disk (here: the outbox cannot be made) keeps the object in memory, not lost.
    func testAnObjectThatCannotBeWrittenStaysHeld() throws {
        let notADirectory = dir.appendingPathComponent("data")
        try Data("x".utf8).write(to: notADirectory)
        let memory = OutboxMemory(data: DataDirectory(notADirectory), capacity: 1000)
        XCTAssertTrue(memory.hold([("outbox/jobs/1/seg.dcm", bytes(100, 1), ["pacs"])]))
        XCTAssertThrowsError(try memory.spill("outbox/jobs/1/seg.dcm"))
        XCTAssertEqual(memory.data("outbox/jobs/1/seg.dcm"), bytes(100, 1))
        XCTAssertEqual(memory.spillAll(), ["outbox/jobs/1/seg.dcm"])
        XCTAssertEqual(memory.heldBytes, 100)
        memory.drop(["outbox/jobs/1/seg.dcm"])
        XCTAssertEqual(memory.heldBytes, 0)
    }
}
