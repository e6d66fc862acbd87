import GRDB
import XCTest
@testable import Gateway

/// `wecare serve` as a real process: crash safety (kill -9) and graceful stop (SIGTERM).
final class ServeProcessTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try Tools.temporaryDirectory("serve") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Starts `wecare serve` and waits for its "listening" line.
    func serve(_ config: TestConfig) throws -> (Tools.Running, UInt16) {
        let gateway = try ServedGateway.start(config, logLevel: "warning")
        return (gateway.process, gateway.dicomPort)
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

    /// C-STOREs a storescp `-v` logged, per SOP Instance UID (the end of the file name it
    /// stored under); with `only`, of those UIDs alone.
    static func stores(in log: String, only: Set<String>? = nil) -> [String: Int] {
        var counts: [String: Int] = [:]
        for line in log.split(separator: "\n") {
            guard let r = line.range(of: "storing DICOM file: ") else { continue }
            let name = URL(fileURLWithPath: String(line[r.upperBound...])).lastPathComponent
            guard let dot = name.firstIndex(of: ".") else { continue }
            let uid = String(name[name.index(after: dot)...])
            if only?.contains(uid) ?? true { counts[uid, default: 0] += 1 }
        }
        return counts
    }

    /// The SOP Instance UIDs of the objects the gateway's ledger made. Other tests on this
    /// machine may send to a port this test's PACS listens on: only these count.
    static func objectUIDs(in data: URL) throws -> Set<String> {
        let queue = try DatabaseQueue(path: data.appendingPathComponent("ledger.sqlite").path)
        defer { try? queue.close() }
        return Set(try queue.read { try String.fetchAll($0, sql: "SELECT sop_instance_uid FROM objects WHERE sop_instance_uid IS NOT NULL") })
    }

    /// kill -9 while the gateway streams a backlog to the PACS, again and again. Each object the
    /// PACS confirms is recorded at once, so a restart sends again only what was never
    /// confirmed: per kill, at most the one object each sender had handed to the network when
    /// the process died. The kernel still delivers those bytes and the PACS stores them, but its
    /// answer finds no one: no sender can tell, and sending again (the PACS replaces the same
    /// instance) is the only safe choice. Recorded per batch, as before, every confirmed object
    /// of each unfinished batch went again (19 in 5 kills here).
    func testKill9DuringDeliverySendsAgainOnlyWhatWasOnItsWay() async throws {
        try Tools.require("storescu", "storescp", "curl")
        let images = 40
        let files = try TestImages.make(images, in: dir)
        let folder = dir.appendingPathComponent("pacs")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let pacsPort = Tools.freePort()
        var config = TestConfig(dir: dir)
        let senders = 2
        config.destinations = TestConfig.pacsDestination(port: pacsPort, outputs: "\"seg\", \"sr\", \"pr\"",
                                                         "max_associations = \(senders)")
        config.probeMax = 0.5
        var gateway = try ServedGateway.start(config)
        var logs: [String] = []
        defer { gateway.process.stop() }
        XCTAssertEqual(Peers.acknowledged(in: try Peers.store(files, port: gateway.dicomPort).output).count, images)
        // The PACS is not there yet: the results wait, then go as one stream when it starts.
        let analysed = await Tools.eventually(timeout: 240) {
            (try? gateway.metric(#"wecare_jobs{state="analysed"}"#)) == Double(images)
        }
        XCTAssertTrue(analysed, gateway.process.output())
        let backlog = Int(try gateway.metric(#"wecare_destination_waiting{destination="pacs"}"#) ?? 0)
        XCTAssertGreaterThanOrEqual(backlog, images)
        // A PACS that answers at once (Nagle off, as a PACS tuned for throughput): DCMTK's
        // default holds each response behind a delayed ACK with the object already stored.
        var environment = ProcessInfo.processInfo.environment
        environment["TCP_NODELAY"] = "1"
        let pacs = try Tools.start("storescp", ["-v", "--fork", "-aet", "PACS", "-od", folder.path, "\(pacsPort)"],
                                   environment: environment)
        defer { pacs.stop() }

        var kills = 0
        while kills < 7 {
            // Kill while objects arrive: a few more since the last start, not yet all. The
            // stream takes about a millisecond per object: look often.
            let seen = Self.stores(in: pacs.output()).values.reduce(0, +)
            let deadline = Date().addingTimeInterval(60)
            while Self.stores(in: pacs.output()).values.reduce(0, +) < seen + 3 && Date() < deadline { usleep(2000) }
            guard Self.stores(in: pacs.output()).count < backlog - 10 else { break }
            usleep(UInt32.random(in: 0...5000))  // at any moment of an object's way, not right after a store
            kill(gateway.process.process.processIdentifier, SIGKILL)
            gateway.process.process.waitUntilExit()
            logs.append(gateway.process.output())
            kills += 1
            gateway = try ServedGateway.start(config)
        }
        let done = await Tools.eventually(timeout: 120) {
            (try? gateway.metric(#"wecare_destination_waiting{destination="pacs"}"#)) == 0
        }
        let delivered = try gateway.metric(#"wecare_deliveries{state="delivered"}"#) ?? 0
        gateway.stop()
        logs.append(gateway.process.output())
        XCTAssertTrue(done, logs.last ?? "")

        // What the PACS holds (its folder, the ground truth; its forked children's log lines may be
        // cut when an association is torn down) and what the ledger records, once all has stopped.
        let uids = try Self.objectUIDs(in: config.dataDir)
        let held = Set(((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).compactMap { name -> String? in
            guard let dot = name.firstIndex(of: ".") else { return nil }
            let uid = String(name[name.index(after: dot)...])
            return uids.contains(uid) ? uid : nil
        })
        let ledger = try SQLiteLedger(path: config.dataDir.appendingPathComponent("ledger.sqlite"))
        let recorded = try await ledger.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM deliveries WHERE state = 'delivered'") } ?? 0
        let stores = Self.stores(in: pacs.output(), only: uids)
        let twice = stores.filter { $0.value > 1 }
        let reanalysed = logs.joined().components(separatedBy: "outbox object lost since analysis").count - 1
        print("kill -9 x\(kills) while delivering a backlog of \(backlog): \(held.count) objects at the PACS, "
              + "\(twice.count) received twice, \(reanalysed) jobs analysed again (gauge said \(delivered) delivered)")
        XCTAssertGreaterThanOrEqual(kills, 2, "the kills should land while objects arrive")
        if held.count != uids.count || recorded != uids.count || uids.count != backlog {
            let rows = try await ledger.pool.read { try Row.fetchAll($0, sql: "SELECT * FROM deliveries WHERE state != 'delivered'") }
            print("not delivered: \(rows)\nPACS: \(pacs.output().suffix(3000))\ngateway: \(logs.joined().suffix(4000))")
        }
        XCTAssertEqual(uids.count, backlog, "the objects made are the backlog that waited")
        XCTAssertEqual(held.count, uids.count, "every result reached the PACS")
        XCTAssertEqual(recorded, uids.count, "and is recorded as delivered")
        XCTAssertLessThanOrEqual(twice.count, kills * senders, "at most one object per sender and kill went twice: \(twice)")
        XCTAssertEqual(reanalysed, 0, "objects waiting on disk are sent again, not made again")
    }

    /// kill -9 at moments of a live stream of images (received, analysed, delivered as they
    /// come, as in the field): every object reaches the PACS, and one goes twice only when a kill
    /// found it on the wire: at most one per sender (the destination's default 2) and kill, the
    /// bound `testKill9DuringDeliverySendsAgainOnlyWhatWasOnItsWay` explains.
    func testKill9DuringALiveStreamSendsNothingTwice() async throws {
        try Tools.require("storescu", "storescp", "curl")
        let images = 30
        let files = try TestImages.make(images, in: dir)
        let folder = dir.appendingPathComponent("pacs")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let pacsPort = Tools.freePort()
        var environment = ProcessInfo.processInfo.environment
        environment["TCP_NODELAY"] = "1"
        let pacs = try Tools.start("storescp", ["-v", "--fork", "-aet", "PACS", "-od", folder.path, "\(pacsPort)"],
                                   environment: environment)
        defer { pacs.stop() }
        var config = TestConfig(dir: dir)
        config.destinations = TestConfig.pacsDestination(port: pacsPort, outputs: "\"seg\", \"sr\", \"pr\"")
        var gateway = try ServedGateway.start(config)
        defer { gateway.process.stop() }
        XCTAssertEqual(Peers.acknowledged(in: try Peers.store(files, port: gateway.dicomPort).output).count, images)
        var kills = 0
        for _ in 0..<7 {
            let seen = Self.stores(in: pacs.output()).values.reduce(0, +)
            let arriving = await Tools.eventually(timeout: 120) { Self.stores(in: pacs.output()).values.reduce(0, +) >= seen + 2 }
            guard arriving, try gateway.metric(#"wecare_jobs{state="analysed"}"#) ?? 0 < Double(images) else { break }
            usleep(UInt32.random(in: 0...60_000))
            kill(gateway.process.process.processIdentifier, SIGKILL)
            gateway.process.process.waitUntilExit()
            kills += 1
            gateway = try ServedGateway.start(config)
        }
        let done = await Tools.eventually(timeout: 240) {
            (try? gateway.metric(#"wecare_jobs{state="analysed"}"#)) == Double(images)
                && (try? gateway.metric(#"wecare_destination_waiting{destination="pacs"}"#)) == 0
        }
        gateway.stop()
        XCTAssertTrue(done, gateway.process.output())
        let stores = Self.stores(in: pacs.output(), only: try Self.objectUIDs(in: config.dataDir))
        let twice = stores.filter { $0.value > 1 }
        print("kill -9 x\(kills) during a live stream: \(stores.count) objects at the PACS, \(twice.count) received twice")
        XCTAssertGreaterThanOrEqual(kills, 3)
        XCTAssertGreaterThanOrEqual(stores.count, images)
        XCTAssertLessThanOrEqual(twice.count, kills * 2, "SOP Instances stored twice: \(twice)")
        XCTAssertTrue(twice.values.allSatisfy { $0 == 2 }, "none more than twice: \(twice)")
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

    /// The self-exam page is public: a gateway whose reading room is off ([review] enabled =
    /// false, the shipped default) serves it and its files, and nothing of the reading room.
    func testTheSelfExamPageIsServedWithTheReadingRoomOff() throws {
        var config = TestConfig(dir: dir)
        config.analysisEnabled = false
        let gateway = try ServedGateway.start(config, logLevel: "warning")
        defer { gateway.stop() }
        XCTAssertGreaterThan(gateway.httpPort, 0)
        let page = try gateway.http("/self-exam")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.body.contains("Breast self-examination"), page.body)
        XCTAssertEqual(try gateway.http("/static/app.css").status, 200)
        XCTAssertEqual(try gateway.http("/static/js/selfexam.js").status, 200)
        XCTAssertEqual(try gateway.http("/worklist").status, 404, "the reading room's pages stay off")
        XCTAssertEqual(try gateway.http("/static/js/worklist.js").status, 404)
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
