import XCTest
@testable import Gateway

/// The spool on its own: folders made at start, commits, and what a restart keeps.
final class SpoolTests: XCTestCase {
    func testPrefixFoldersExistFromTheStartAndARestartKeepsCommittedFilesButClearsTmp() throws {
        let dir = try Tools.temporaryDirectory("spool")
        defer { try? FileManager.default.removeItem(at: dir) }
        let spool = try Spool(dataDirectory: dir)
        let folders = try FileManager.default.contentsOfDirectory(atPath: spool.root.path).filter { $0 != "tmp" }
        XCTAssertEqual(folders.count, 256)
        XCTAssertEqual(Set(folders).count, 256)
        XCTAssertTrue(folders.allSatisfy { $0.count == 2 && $0.allSatisfy(\.isHexDigit) && $0 == $0.lowercased() }, "\(folders.sorted().prefix(5))")

        // Every instance's folder is one of them, so a commit is a rename into an existing folder.
        let uids = (0..<64).map { "1.2.826.0.1.3680043.8.498.\($0)" }
        for uid in uids {
            XCTAssertTrue(folders.contains(String(spool.relativePath(sopInstanceUID: uid).prefix(2))))
        }
        let partial = spool.temporaryFile()
        try Data("dataset".utf8).write(to: partial)
        let relative = try spool.commit(partial, sopInstanceUID: uids[0])
        XCTAssertEqual(try Data(contentsOf: spool.url(relativePath: relative)), Data("dataset".utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial.path))

        let leftover = spool.temporaryFile()
        try Data("half".utf8).write(to: leftover)
        let restarted = try Spool(dataDirectory: dir)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: restarted.temporaryDirectory.path), [])
        XCTAssertEqual(try Data(contentsOf: restarted.url(relativePath: relative)), Data("dataset".utf8))
    }
}
