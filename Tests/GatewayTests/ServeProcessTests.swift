import XCTest
@testable import Gateway

/// `wecare serve` as a real process: crash safety (kill -9) and graceful stop (SIGTERM).
final class ServeProcessTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try Tools.temporaryDirectory("serve") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Starts `wecare serve` (receive-only) and waits for its "listening" line.
    func serve(_ config: TestConfig) throws -> (Tools.Running, UInt16) {
        let wecare = try WeCareBinary.url()
        let conf = try config.write()
        let running = try Tools.start(wecare.path, ["serve", "--config", conf.path, "--log-level", "warning"])
        var port: UInt16?
        _ = Tools.eventually(timeout: 30) {
            if let line = running.output().split(separator: "\n").first(where: { $0.hasPrefix("wecare: listening dicom=") }) {
                port = UInt16(line.split(separator: " ")[2].dropFirst("dicom=".count))
            }
            return port != nil || !running.process.isRunning
        }
        guard let port else {
            running.stop()
            try skipIfNetworkMissing(running.output())
            XCTFail("serve did not start: \(running.output())")
            throw XCTSkip("serve did not start")
        }
        return (running, port)
    }

    func testKill9DuringABurstLosesNothingAcknowledgedAndJobsResume() async throws {
        let files = try TestImages.makeBurst(40, in: dir)
        var config = TestConfig(dir: dir)
        config.analysisEnabled = false
        config.httpPort = 0
        let (gateway, port) = try serve(config)
        let sender = try Tools.start("storescu", ["-v", "-aet", "US_ROOM1", "-aec", "WECARE", "127.0.0.1", "\(port)"] + files.map(\.path))
        // Kill once some, but not all, instances were acknowledged.
        _ = await Tools.eventually(timeout: 60) { Peers.acknowledged(in: sender.output()).count >= 8 }
        kill(gateway.process.processIdentifier, SIGKILL)
        gateway.process.waitUntilExit()
        sender.process.waitUntilExit()
        let acknowledged = Peers.acknowledged(in: sender.output())
        XCTAssertGreaterThanOrEqual(acknowledged.count, 8, sender.output())
        XCTAssertLessThan(acknowledged.count, files.count, "the kill should land mid-burst; make the burst bigger if not")

        let ledger = try SQLiteLedger(path: config.dataDir.appendingPathComponent("ledger.sqlite"))
        let spool = config.dataDir.appendingPathComponent("spool")
        for path in acknowledged {
            let file = URL(fileURLWithPath: path)
            let uid = try TestImages.sopInstanceUID(file)
            let row = try XCTUnwrap(try ledger.instance(sopInstanceUID: uid), "acknowledged but not in the ledger: \(file.lastPathComponent)")
            let spooled = spool.appendingPathComponent(row.spoolPath)
            XCTAssertEqual(try TestImages.datasetDump(spooled), try TestImages.datasetDump(file), "spooled bytes differ")
        }
        let recorded = try ledger.counts().jobs.values.reduce(0, +)
        XCTAssertGreaterThanOrEqual(recorded, acknowledged.count)

        // Restart with analysis on: every recorded job is analysed.
        let processor = TestProcessor()
        let service = try await GatewayService.startForTest(config, processor: processor)
        let resumed = try await Tools.eventually(timeout: 60) { try service.ledger.counts().jobs[.analysed] == recorded }
        XCTAssertTrue(resumed,
                      "\(String(describing: try? service.ledger.counts()))")
        await service.stop()
        XCTAssertEqual(processor.totalCalls, recorded)
    }

    func testSIGTERMStopsGracefullyAndKeepsTheQueue() throws {
        let files = try TestImages.make(3, in: dir)
        var config = TestConfig(dir: dir)
        config.analysisEnabled = false
        let (gateway, port) = try serve(config)
        let r = try Peers.store(files, port: port)
        XCTAssertEqual(Peers.acknowledged(in: r.output).count, 3, r.output)
        kill(gateway.process.processIdentifier, SIGTERM)
        gateway.process.waitUntilExit()
        XCTAssertEqual(gateway.process.terminationStatus, 0, gateway.output())
        let ledger = try SQLiteLedger(path: config.dataDir.appendingPathComponent("ledger.sqlite"))
        XCTAssertEqual(try ledger.counts().jobs[.received], 3)
    }

    /// Without DCMTK's data dictionary no message could be read: serve says so and does not start.
    func testServeRefusesToStartWithoutTheDataDictionary() throws {
        let wecare = try WeCareBinary.url()
        var config = TestConfig(dir: dir)
        config.analysisEnabled = false
        var environment = ProcessInfo.processInfo.environment
        environment["DCMDICTPATH"] = dir.appendingPathComponent("no-such-dicom.dic").path
        let running = try Tools.start(wecare.path, ["serve", "--config", try config.write().path], environment: environment)
        XCTAssertTrue(Tools.eventually(timeout: 60) { !running.process.isRunning }, running.output())
        running.stop()
        XCTAssertNotEqual(running.process.terminationStatus, 0)
        XCTAssertTrue(running.output().contains("data dictionary could not be loaded"), running.output())
        XCTAssertTrue(running.output().contains("no-such-dicom.dic"), running.output())
        XCTAssertFalse(running.output().contains("wecare: listening"), running.output())
    }

    func testServeRefusesABadConfigurationWithFileAndLine() throws {
        let wecare = try WeCareBinary.url()
        var config = TestConfig(dir: dir)
        config.extra = "[delivery]\nretry_base_seconds = 5\n"   // a second [delivery] table: a TOML error
        let conf = try config.write()
        let r = try Tools.run(wecare.path, ["serve", "--config", conf.path], timeout: 30)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("\(conf.path):"), r.output)
        XCTAssertTrue(r.output.contains("not starting"), r.output)
    }
}

extension TestImages {
    /// Larger images (640x480 RGB, ~900 KB) so a burst takes long enough to be interrupted.
    static func makeBurst(_ count: Int, in dir: URL) throws -> [URL] {
        let original = try makeUS(in: dir, name: "burst", size: (640, 480))
        var files: [URL] = []
        for i in 0..<count {
            let f = dir.appendingPathComponent("burst-\(i).dcm")
            try FileManager.default.copyItem(at: original, to: f)
            files.append(f)
        }
        let r = try Tools.run("dcmodify", ["-nb", "-gin"] + files.map(\.path))
        XCTAssertEqual(r.status, 0, r.output)
        return files
    }
}
