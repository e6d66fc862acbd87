import Logging
import XCTest
@testable import Gateway

/// The sweeper removes exactly what `[retention]` allows: images whose every result is delivered,
/// after their time; nothing that still waits; ledger rows only after the image; files nothing
/// names; and it is safe to stop at any point.
final class RetentionTests: XCTestCase {
    var dir: URL!
    var spool: Spool!
    var ledger: SQLiteLedger!
    let metrics = GatewayMetrics()

    override func setUpWithError() throws {
        dir = try Tools.temporaryDirectory("retention")
        spool = try Spool(dataDirectory: dir)
        ledger = try SQLiteLedger(path: dir.appendingPathComponent("ledger.sqlite"))
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func sweeper(_ configure: (inout RetentionSettings) -> Void) -> Sweeper {
        var settings = RetentionSettings()
        configure(&settings)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return Sweeper(settings: settings, ledger: ledger, spool: spool, dataDirectory: dir, metrics: metrics, logger: logger)
    }

    enum Fate: CaseIterable { case waiting, delivered, partlyDelivered, failedDelivery, analysing, noDestination }

    /// Receives an image (a real spool file), analyses it into one object for "pacs" (or none),
    /// and delivers as `fate` says; returns the spool path.
    @discardableResult
    private func image(_ uid: String, _ fate: Fate, bytes: Int = 100, at t: Date) throws -> String {
        let relative = spool.relativePath(sopInstanceUID: uid)
        try Data(repeating: 7, count: bytes).write(to: spool.url(relativePath: relative))
        _ = try ledger.recordReceived(NewInstance(sopInstanceUID: uid, sopClassUID: "1.2.840.10008.5.1.4.1.1.6.1",
                                                  studyInstanceUID: "1.2", callingAETitle: "US", transferSyntaxUID: "1.2.840.10008.1.2.1",
                                                  spoolPath: relative, sizeBytes: Int64(bytes)), now: t)
        let claim = try XCTUnwrap(try ledger.claimDueJob(now: t.addingTimeInterval(1)))
        if fate == .analysing { return relative }
        let destinations = fate == .noDestination ? [] : ["pacs"]
        let objects = ["seg.dcm", "sr.dcm"].map { name in
            NewObject(kind: .sr, fileName: name, path: "outbox/\(claim.jobID)/\(name)", sopInstanceUID: nil,
                      destinations: destinations)
        }
        try ledger.completeJob(claim.jobID, objects: objects, analysisSeconds: 0.1, now: t.addingTimeInterval(2))
        let due = try ledger.dueDeliveries(destination: "pacs", now: t.addingTimeInterval(3), limit: 100_000)
            .filter { $0.jobID == claim.jobID }
        switch fate {
        case .delivered: for d in due { try ledger.markDelivered(d.id, now: t.addingTimeInterval(4)) }
        case .partlyDelivered: try ledger.markDelivered(due[0].id, now: t.addingTimeInterval(4))
        case .failedDelivery:
            try ledger.markDelivered(due[0].id, now: t.addingTimeInterval(4))
            try ledger.markDeliveryRefused(due[1].id, error: "refused", retryAt: nil, now: t.addingTimeInterval(4))
        default: break
        }
        return relative
    }

    private func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: spool.url(relativePath: relative).path) }

    func testASweepRemovesExactlyTheDeliveredImagesPastTheirTimeOnRandomisedLedgers() throws {
        var rng = SeededGenerator(seed: 20261206)
        let now = Date()
        var expectations: [(path: String, removable: Bool, uid: String)] = []
        for i in 0..<240 {
            let fate = Fate.allCases.randomElement(using: &rng)!
            let ageDays = Double(Int.random(in: 0...30, using: &rng))
            let t = now.addingTimeInterval(-ageDays * 86_400)
            let path = try image("1.2.\(i)", fate, at: t)
            let finished = fate == .delivered || fate == .noDestination
            expectations.append((path, finished && ageDays > 14, "1.2.\(i)"))
        }
        let removed = sweeper { $0.keepImagesSeconds = 14 * 86_400; $0.keepRecordsSeconds = 60 * 86_400 }.sweep(now: now)
        XCTAssertEqual(removed["age"], expectations.filter(\.removable).count)
        for e in expectations {
            XCTAssertEqual(exists(e.path), !e.removable, "\(e.uid): removable \(e.removable)")
            // Rows stay until keep_records_days: the job list still shows the image.
            XCTAssertNotNil(try ledger.instance(sopInstanceUID: e.uid))
        }
        XCTAssertEqual(try ledger.spoolUsage().images, expectations.filter { !$0.removable }.count)

        // Records past their time go with their rows; nothing still waiting is touched.
        let pruned = sweeper { $0.keepImagesSeconds = 14 * 86_400; $0.keepRecordsSeconds = 20 * 86_400 }.sweep(now: now)
        for e in expectations {
            let row = try ledger.instance(sopInstanceUID: e.uid)
            if !e.removable { XCTAssertNotNil(row, e.uid) }
        }
        XCTAssertGreaterThan(pruned["records"] ?? 0, 0)
        XCTAssertEqual(try ledger.counts().jobs.values.reduce(0, +), 240 - (pruned["records"] ?? 0))
    }

    func testTheCeilingRemovesTheOldestDeliveredImagesFirstAndNeverAWaitingOne() throws {
        let now = Date()
        let waiting = try image("9.0", .waiting, bytes: 1000, at: now.addingTimeInterval(-100))
        let oldest = try image("9.1", .delivered, bytes: 1000, at: now.addingTimeInterval(-90))
        let middle = try image("9.2", .delivered, bytes: 1000, at: now.addingTimeInterval(-80))
        let newest = try image("9.3", .delivered, bytes: 1000, at: now.addingTimeInterval(-70))
        let removed = sweeper { $0.maxSpoolBytes = 2500 }.sweep(now: now)
        XCTAssertEqual(removed["ceiling"], 2)
        XCTAssertTrue(exists(waiting))
        XCTAssertFalse(exists(oldest))
        XCTAssertFalse(exists(middle))
        XCTAssertTrue(exists(newest))
        // Only waiting images past the ceiling: nothing to remove, nothing removed.
        XCTAssertEqual(sweeper { $0.maxSpoolBytes = 10 }.sweep(now: now)["ceiling"], 1)
        XCTAssertTrue(exists(waiting))
    }

    func testASweepCutShortAfterDeletingAFileIsFinishedByTheNextAndStrayFilesAreRemoved() throws {
        let now = Date()
        let done = try image("5.1", .delivered, at: now.addingTimeInterval(-30 * 86_400))
        // As if a sweep was killed between deleting the file and marking its row.
        try FileManager.default.removeItem(at: spool.url(relativePath: done))
        XCTAssertEqual(try ledger.spoolUsage().images, 1)
        // A spool file no row names (a receive that died before its ledger commit), old and young.
        let prefix = spool.root.appendingPathComponent("ab")
        let stray = prefix.appendingPathComponent(String(repeating: "0", count: 64) + ".dcm")
        let young = prefix.appendingPathComponent(String(repeating: "1", count: 64) + ".dcm")
        try Data([1]).write(to: stray)
        try Data([1]).write(to: young)
        try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(-7200)], ofItemAtPath: stray.path)
        let s = sweeper { $0.keepImagesSeconds = 86_400 }
        var orphans = 0
        for _ in 0..<256 { orphans += s.sweep(now: now)["orphan"] ?? 0 }
        XCTAssertEqual(try ledger.spoolUsage().images, 0, "the row of the file already gone is settled")
        XCTAssertEqual(orphans, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stray.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: young.path), "a file younger than the grace may be a receive in progress")
    }

    func testRetentionIsReadFromTheConfiguration() throws {
        var config = TestConfig(dir: dir)
        config.extra = "[retention]\nkeep_images_days = 0.5\nkeep_records_days = 2\nmax_spool_gb = 1.5\nsweep_interval_seconds = 60\n"
        let loaded = try config.load()
        XCTAssertEqual(loaded.retention.keepImagesSeconds, 43_200)
        XCTAssertEqual(loaded.retention.keepRecordsSeconds, 172_800)
        XCTAssertEqual(loaded.retention.maxSpoolBytes, 1_610_612_736)
        config.extra = "[retention]\nkeep_images_days = 10\nkeep_records_days = 2\n"
        XCTAssertThrowsError(try config.load()) { error in
            XCTAssertTrue("\(error)".contains("keep_records_days"), "\(error)")
        }
    }
}

/// A small deterministic generator (SplitMix64) for randomised tests that repeat.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
