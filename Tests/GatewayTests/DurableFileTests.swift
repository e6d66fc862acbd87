import XCTest
@testable import Gateway

final class DurableFileTests: XCTestCase {
    /// A job's objects are written together: all land whole under their names, nothing temporary
    /// is left, and a rewrite replaces them.
    func testBatchWriteLeavesOnlyFinishedFiles() throws {
        let dir = try Tools.temporaryDirectory("durable")
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = dir.appendingPathComponent("outbox/7")
        let files: [(name: String, data: Data)] = [("seg.dcm", Data(repeating: 1, count: 70_000)), ("sr.dcm", Data("sr".utf8)),
                                                   ("result.json", Data("{}".utf8))]
        try DurableFile.write(files, into: folder)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(), ["result.json", "seg.dcm", "sr.dcm"])
        XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("seg.dcm")), files[0].data)

        try DurableFile.write([("sr.dcm", Data("second".utf8))], into: folder)
        XCTAssertEqual(try String(contentsOf: folder.appendingPathComponent("sr.dcm"), encoding: .utf8), "second")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).count, 3)
    }

    /// A job's outbox files go straight under their names, synced or not; a rerun over a
    /// crashed attempt's longer leftover truncates it, and missing parents are made.
    func testUnreferencedWriteReplacesLeftoversWhole() throws {
        let dir = try Tools.temporaryDirectory("durable-outbox")
        defer { try? FileManager.default.removeItem(at: dir) }
        for durable in [true, false] {
            let folder = dir.appendingPathComponent("outbox-\(durable)/9")
            try DurableFile.writeUnreferenced([("seg.dcm", Data(repeating: 7, count: 50_000))], into: folder, durable: durable)
            let files: [(name: String, data: Data)] = [("seg.dcm", Data("short".utf8)), ("sr.dcm", Data(repeating: 2, count: 70_000))]
            try DurableFile.writeUnreferenced(files, into: folder, durable: durable)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(), ["seg.dcm", "sr.dcm"])
            XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("seg.dcm")), files[0].data)
            XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("sr.dcm")), files[1].data)
        }
    }

    /// An unsynced write into a place that cannot hold a folder names the path.
    func testUnsyncedWriteFailureNamesThePath() throws {
        let dir = try Tools.temporaryDirectory("durable-outbox-fail")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("not a folder".utf8).write(to: dir.appendingPathComponent("outbox"))
        XCTAssertThrowsError(try DurableFile.writeUnreferenced([("seg.dcm", Data("a".utf8))],
                                                               into: dir.appendingPathComponent("outbox/3"), durable: false)) { error in
            XCTAssertTrue("\(error)".contains("mkdir") && "\(error)".contains("outbox"), "\(error)")
        }
    }

    /// A batch that cannot be written fails as a whole with the path, and leaves no temporaries.
    func testBatchWriteFailureNamesThePathAndCleansUp() throws {
        let dir = try Tools.temporaryDirectory("durable-fail")
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = dir.appendingPathComponent("outbox")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("sr.dcm"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("sr.dcm/occupied"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try DurableFile.write([("seg.dcm", Data("a".utf8)), ("sr.dcm", Data("b".utf8))], into: folder)) { error in
            XCTAssertTrue("\(error)".contains("sr.dcm"), "\(error)")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        XCTAssertFalse(left.contains { $0.hasSuffix(".tmp") }, "\(left)")
    }

    /// A full disk surfaces as the OS's own words with the path, not as a silent short file:
    /// /dev/full answers every write with ENOSPC.
    func testFullDiskNamesTheWriteThatFailed() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: "/dev/full"), "needs /dev/full")
        XCTAssertThrowsError(try DurableFile.writeSynced(Data(count: 4096), to: "/dev/full")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("write '/dev/full'") && text.contains("No space left on device"), text)
        }
    }
}
