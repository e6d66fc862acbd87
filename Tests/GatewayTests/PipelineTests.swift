import DICOM
import Synchronization
import XCTest
@testable import Gateway

/// Received jobs -> processor -> outbox -> deliveries, with real folders and a real PACS (storescp).
final class PipelineTests: XCTestCase {
    var dir: URL!
    var service: GatewayService?
    var pacs: Tools.Running?

    override func setUpWithError() throws { dir = try Tools.temporaryDirectory("pipeline") }
    override func tearDown() async throws {
        await service?.stop()
        pacs?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    /// A storescp PACS with AE title "PACS" on `port`, storing into `folder`/pacs (the test's
    /// folder by default); `options` go before the others (e.g. "--fork", "-v").
    func startPACS(port: UInt16, in folder: URL? = nil, _ options: [String] = []) throws -> (received: URL, process: Tools.Running) {
        let received = (folder ?? dir).appendingPathComponent("pacs")
        try FileManager.default.createDirectory(at: received, withIntermediateDirectories: true)
        return (received, try Tools.start("storescp", options + ["-aet", "PACS", "-od", received.path, "\(port)"]))
    }

    /// Delivers `item` with one-off senders until the PACS stores it (storescp takes a moment
    /// to listen), so the test's own associations start from a PACS that answers.
    func deliverOnceThePACSListens(_ item: DeliveryItem, to peer: DICOMPeer) {
        for _ in 0..<100 {
            if DICOMDeliverer(peer: peer).deliver([item]).first?.error == nil { return }
            usleep(50_000)
        }
    }

    /// Associations a verbose storescp accepted, and those released (not aborted), in its log.
    func associations(in log: String) -> (received: Int, released: Int) {
        (log.components(separatedBy: "Association Received").count - 1, log.components(separatedBy: "Association Release").count - 1)
    }

    func start(_ configure: (inout TestConfig) -> Void = { _ in }, processor: InstanceProcessor) async throws -> GatewayService {
        var config = TestConfig(dir: dir)
        configure(&config)
        let s = try await GatewayService.startForTest(config, processor: processor)
        service = s
        return s
    }

    func testAnalysedJobsAreDeliveredAtomicallyToAFolder() async throws {
        let files = try TestImages.make(3, in: dir)
        let s = try await start(processor: TestProcessor())
        let r = try Peers.store(files, port: s.dicomPort)
        XCTAssertEqual(Peers.acknowledged(in: r.output).count, 3, r.output)
        let ok30 = try await Tools.eventually { try s.ledger.counts().deliveries[.delivered] == 6 }
        XCTAssertTrue(ok30, "\(String(describing: try? s.ledger.counts()))")
        let archive = dir.appendingPathComponent("data/outbox/archive")
        for file in files {
            let uid = try TestImages.sopInstanceUID(file)
            let row = try XCTUnwrap(try s.ledger.instance(sopInstanceUID: uid))
            let leaf = archive.appendingPathComponent(UIDHash.short(try XCTUnwrap(row.studyInstanceUID)))
                .appendingPathComponent(UIDHash.short(uid))
            let names = try FileManager.default.contentsOfDirectory(atPath: leaf.path).sorted()
            XCTAssertEqual(names, ["lesion.svg", "result.json"], "only finished files, no temporaries")
            let json = try String(contentsOf: leaf.appendingPathComponent("result.json"), encoding: .utf8)
            XCTAssertTrue(json.contains(UIDHash.short(uid)))
        }
        let jobs = try s.ledger.recentJobs(limit: 10)
        XCTAssertEqual(jobs.count, 3)
        XCTAssertTrue(jobs.allSatisfy { $0.state == "analysed" && $0.deliveries.count == 2 })
        // Delivered at once, the objects went from memory: no outbox file, nothing held.
        for job in jobs {
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("data/outbox/jobs/\(job.id)").path))
        }
        XCTAssertEqual(s.outbox.heldBytes, 0)
    }

    /// The outbox keeps only what some destination takes, on disk once its delivery failed;
    /// with no destination, everything.
    func testOnlyObjectsSomeDestinationTakesAreStored() async throws {
        let files = try TestImages.make(1, in: dir)
        let processor = TestProcessor(makeDICOM: true)
        let s = try await start({
            $0.destinations = TestConfig.pacsDestination(port: Tools.freePort())
        }, processor: processor)
        _ = try Peers.store(files, port: s.dicomPort)
        let waiting = try await Tools.eventually { (try s.ledger.counts().failingByDestination["pacs"] ?? 0) == 1 }
        XCTAssertTrue(waiting, "the PACS is down: the SEG waits to be retried")
        let onDisk = await Tools.eventually { s.outbox.heldBytes == 0 }
        XCTAssertTrue(onDisk, "a delivery that waits for its destination waits on disk")
        let job = try XCTUnwrap(try s.ledger.recentJobs(limit: 1).first)
        let outbox = dir.appendingPathComponent("data/outbox/jobs/\(job.id)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outbox.path), ["seg.dcm"])
        XCTAssertEqual(job.deliveries.map(\.destination), ["pacs"])
        XCTAssertEqual(processor.kindsAsked, [[.seg]], "asked to make only what the PACS takes")
        await s.stop()
        service = nil

        let dir2 = try Tools.temporaryDirectory("pipeline-no-destination")
        defer { try? FileManager.default.removeItem(at: dir2) }
        var config = TestConfig(dir: dir2)
        config.destinations = ""
        let processor2 = TestProcessor(makeDICOM: true)
        let s2 = try await GatewayService.startForTest(config, processor: processor2)
        service = s2
        _ = try Peers.store(files, port: s2.dicomPort)
        let analysed2 = try await Tools.eventually { try s2.ledger.counts().jobs[.analysed] == 1 }
        XCTAssertTrue(analysed2)
        let job2 = try XCTUnwrap(try s2.ledger.recentJobs(limit: 1).first)
        let kept = try FileManager.default.contentsOfDirectory(atPath: dir2.appendingPathComponent("data/outbox/jobs/\(job2.id)").path)
        XCTAssertEqual(kept.sorted(), ["lesion.svg", "result.json", "seg.dcm"])
        XCTAssertTrue(job2.deliveries.isEmpty)
        XCTAssertEqual(processor2.kindsAsked, [Set(OutputKind.allCases)], "with no destination, everything")
    }

    func testTransientFailuresAreRetriedAndPermanentOnesRecorded() async throws {
        let files = try TestImages.make(1, in: dir)
        let processor = TestProcessor(transientFailures: 2)
        let s = try await start(processor: processor)
        _ = try Peers.store(files, port: s.dicomPort)
        let uid = try TestImages.sopInstanceUID(files[0])
        let ok53 = try await Tools.eventually { try s.ledger.counts().jobs[.analysed] == 1 }
        XCTAssertTrue(ok53)
        XCTAssertEqual(processor.callCount(uid), 3)
        let job = try XCTUnwrap(try s.ledger.recentJobs(limit: 1).first)
        XCTAssertEqual(job.attempts, 3)
        await s.stop()
        service = nil

        let dir2 = try Tools.temporaryDirectory("pipeline-permanent")
        defer { try? FileManager.default.removeItem(at: dir2) }
        var config = TestConfig(dir: dir2)
        config.retryBase = 0.05
        let failing = TestProcessor(permanentFailure: true)
        let s2 = try await GatewayService.startForTest(config, processor: failing)
        service = s2
        _ = try Peers.store(files, port: s2.dicomPort)
        let ok68 = try await Tools.eventually { try s2.ledger.counts().jobs[.failed] == 1 }
        XCTAssertTrue(ok68)
        try await Task.sleep(nanoseconds: 300_000_000)
        XCTAssertEqual(failing.callCount(uid), 1, "a permanent failure is not retried")
        XCTAssertEqual(try s2.ledger.recentJobs(limit: 1).first?.reason, "test: undecodable pixel data")
    }

    func testPACSDownThenUpGetsOnlyWhatWaitedWithTheSameUIDs() async throws {
        try Tools.require("storescp")
        let files = try TestImages.make(2, in: dir)
        let pacsPort = Tools.freePort()
        let processor = TestProcessor(makeDICOM: true)
        let s = try await start({
            $0.destinations += TestConfig.pacsDestination(port: pacsPort)
        }, processor: processor)
        let r = try Peers.store(files, port: s.dicomPort)
        XCTAssertEqual(Peers.acknowledged(in: r.output).count, 2, r.output)
        // PACS down: the folder gets everything, the PACS deliveries wait for it to come back.
        let ok94 = try await Tools.eventually { try s.ledger.counts().deliveries[.delivered] == 6 }
        XCTAssertTrue(ok94)
        let ok95 = try await Tools.eventually { try s.ledger.waitingDeliveries()["pacs"]?.count == 2 && !s.degradations().isEmpty }
        XCTAssertTrue(ok95, "\(s.degradations())")
        let waiting = try s.ledger.recentJobs(limit: 10).flatMap(\.deliveries).filter { $0.destination == "pacs" }
        XCTAssertTrue(waiting.allSatisfy { ["pending", "failed-retrying"].contains($0.state) }, "\(waiting)")
        XCTAssertTrue(waiting.contains { $0.lastError?.isEmpty == false }, "the probe's error is recorded: \(waiting)")

        // PACS up: the two SEGs arrive, once each, with the UIDs derived from their sources.
        let (received, storescp) = try startPACS(port: pacsPort)
        pacs = storescp
        let ok103 = try await Tools.eventually(timeout: 60) { try s.ledger.counts().deliveries[.delivered] == 8 }
        XCTAssertTrue(ok103, "\(String(describing: try? s.ledger.counts()))")
        let expected = Set(try files.map { TestProcessor.derivedUID(try TestImages.sopInstanceUID($0), "seg") })
        let got = try FileManager.default.contentsOfDirectory(atPath: received.path)
        XCTAssertEqual(got.count, 2, "\(got)")
        XCTAssertEqual(Set(try got.map { try TestImages.sopInstanceUID(received.appendingPathComponent($0)) }), expected)
        let deliveries = try s.ledger.recentJobs(limit: 10).flatMap(\.deliveries)
        XCTAssertTrue(deliveries.filter { $0.destination == "archive" }.allSatisfy { $0.attempts == 1 }, "folder objects were not resent")
        XCTAssertTrue(deliveries.filter { $0.destination == "pacs" }.allSatisfy { $0.state == "delivered" })
        XCTAssertTrue(s.degradations().isEmpty, "\(s.degradations())")
    }

    /// Outbox objects are not fsynced; one that lost its data (as after a power cut) sends its
    /// job back to analysis instead of going out, and the PACS gets the object analysis wrote.
    func testAnOutboxObjectLostAfterAnalysisIsAnalysedAgainNotSent() async throws {
        try Tools.require("storescp")
        let files = try TestImages.make(1, in: dir)
        let uid = try TestImages.sopInstanceUID(files[0])
        let pacsPort = Tools.freePort()
        let processor = TestProcessor(makeDICOM: true)
        let s = try await start({ $0.destinations = TestConfig.pacsDestination(port: pacsPort) }, processor: processor)
        _ = try Peers.store(files, port: s.dicomPort)
        let waiting = try await Tools.eventually { (try s.ledger.counts().failingByDestination["pacs"] ?? 0) == 1 }
        XCTAssertTrue(waiting, "the PACS is down: the SEG waits to be retried")
        let job = try XCTUnwrap(try s.ledger.recentJobs(limit: 1).first)
        let seg = dir.appendingPathComponent("data/outbox/jobs/\(job.id)/seg.dcm")
        let analysed = try Data(contentsOf: seg)
        try analysed.prefix(200).write(to: seg)  // what a power cut before writeback can leave

        let (received, storescp) = try startPACS(port: pacsPort)
        pacs = storescp
        let delivered = try await Tools.eventually(timeout: 60) { try s.ledger.counts().deliveries[.delivered] == 1 }
        XCTAssertTrue(delivered, "\(String(describing: try? s.ledger.counts()))")
        XCTAssertEqual(processor.callCount(uid), 2, "analysed again")
        let after = try XCTUnwrap(try s.ledger.job(id: job.id))
        XCTAssertEqual(after.attempts, 2)
        XCTAssertEqual(after.state, "analysed")
        let got = try FileManager.default.contentsOfDirectory(atPath: received.path)
        XCTAssertEqual(got.count, 1, "\(got)")
        let stored = received.appendingPathComponent(got[0])
        XCTAssertEqual(try TestImages.sopInstanceUID(stored), TestProcessor.derivedUID(uid, "seg"))
        // The object analysis made again, whole: its dataset as the PACS stored it.
        func dataset(_ part10: Data) -> Data {
            let metaLength = part10[140..<144].reversed().reduce(0) { $0 << 8 | Int($1) }
            return part10.suffix(from: 144 + metaLength)
        }
        XCTAssertEqual(dataset(try Data(contentsOf: stored)), dataset(analysed))
        XCTAssertEqual(try Data(contentsOf: seg), analysed, "a job analysed again keeps its objects on disk, not in memory")
        XCTAssertEqual(s.outbox.heldBytes, 0)
    }

    /// With the outbox's memory full, a job's objects are written to their files and go out
    /// from there, checked against their fingerprints.
    func testWithTheOutboxMemoryFullObjectsGoOutFromTheirFiles() async throws {
        try Tools.require("storescp")
        let files = try TestImages.make(2, in: dir)
        let pacsPort = Tools.freePort()
        let (received, storescp) = try startPACS(port: pacsPort)
        pacs = storescp
        var config = TestConfig(dir: dir)
        config.destinations = TestConfig.pacsDestination(port: pacsPort)
        let processor = TestProcessor(makeDICOM: true)
        let s = try await GatewayService.startForTest(config, processor: processor, outboxMemoryBytes: 0)
        service = s
        deliverOnceThePACSListens(DeliveryItem(file: files[0], fileName: "probe.dcm", kind: .seg, studyInstanceUID: nil,
                                               sourceSOPInstanceUID: nil),
                                  to: DICOMPeer(aeTitle: "PACS", host: "127.0.0.1", port: pacsPort, callingAETitle: "WECARE"))
        _ = try Peers.store(files, port: s.dicomPort)
        let delivered = try await Tools.eventually(timeout: 60) { try s.ledger.counts().deliveries[.delivered] == 2 }
        XCTAssertTrue(delivered, "\(String(describing: try? s.ledger.counts()))")
        for job in try s.ledger.recentJobs(limit: 10) {
            let seg = dir.appendingPathComponent("data/outbox/jobs/\(job.id)/seg.dcm")
            XCTAssertTrue(FileManager.default.fileExists(atPath: seg.path), "job \(job.id) went through its outbox file")
        }
        let expected = Set(try files.map { TestProcessor.derivedUID(try TestImages.sopInstanceUID($0), "seg") })
        let got = try FileManager.default.contentsOfDirectory(atPath: received.path)
        XCTAssertTrue(expected.isSubset(of: Set(try got.map { try TestImages.sopInstanceUID(received.appendingPathComponent($0)) })))
        XCTAssertEqual(processor.totalCalls, 2, "nothing analysed twice")
    }

    /// Several senders share one destination's queue: every object reaches the PACS once.
    func testParallelSendersDeliverEachObjectExactlyOnce() async throws {
        try Tools.require("storescp")
        let files = try TestImages.make(12, in: dir)
        let pacsPort = Tools.freePort()
        let (received, storescp) = try startPACS(port: pacsPort, ["--fork"])
        pacs = storescp
        let s = try await start({
            $0.destinations += TestConfig.pacsDestination(port: pacsPort, "max_associations = 3")
        }, processor: TestProcessor(makeDICOM: true))
        let r = try Peers.store(files, port: s.dicomPort)
        XCTAssertEqual(Peers.acknowledged(in: r.output).count, 12, r.output)
        let done = try await Tools.eventually(timeout: 60) { try s.ledger.counts().deliveries[.delivered] == 48 }
        XCTAssertTrue(done, "\(String(describing: try? s.ledger.counts()))")
        let pacsDeliveries = try s.ledger.recentJobs(limit: 20).flatMap(\.deliveries).filter { $0.destination == "pacs" }
        XCTAssertEqual(pacsDeliveries.count, 12)
        XCTAssertTrue(pacsDeliveries.allSatisfy { $0.attempts == 1 && $0.state == "delivered" }, "no object sent twice: \(pacsDeliveries)")
        let expected = Set(try files.map { TestProcessor.derivedUID(try TestImages.sopInstanceUID($0), "seg") })
        let got = try FileManager.default.contentsOfDirectory(atPath: received.path)
        XCTAssertEqual(Set(try got.map { try TestImages.sopInstanceUID(received.appendingPathComponent($0)) }), expected)
    }

    /// A burst of images reaches the PACS over one kept association (one sender), which is
    /// released, not aborted, when the gateway stops; with keep_association_seconds = 0 every
    /// batch negotiates its own.
    func testABurstTravelsOverOneKeptAssociationReleasedAtStop() async throws {
        try Tools.require("storescp")
        for keep in [10, 0] {
            let round = dir.appendingPathComponent("keep\(keep)")
            try FileManager.default.createDirectory(at: round, withIntermediateDirectories: true)
            let files = try TestImages.make(6, in: round)
            let pacsPort = Tools.freePort()
            let (received, storescp) = try startPACS(port: pacsPort, in: round, ["-v"])
            defer { storescp.stop() }
            let s = try await start({
                $0.dir = round
                $0.destinations += TestConfig.pacsDestination(port: pacsPort, "max_associations = 1\nkeep_association_seconds = \(keep)")
            }, processor: TestProcessor(makeDICOM: true))
            for file in files {  // one image at a time, as a modality sends them
                XCTAssertEqual(Peers.acknowledged(in: try Peers.store([file], port: s.dicomPort).output).count, 1)
                let sent = files.firstIndex(of: file)! + 1
                let arrived = try await Tools.eventually(timeout: 30) {
                    (try FileManager.default.contentsOfDirectory(atPath: received.path).count) == sent
                }
                XCTAssertTrue(arrived, "image \(sent) at the PACS")
            }
            await s.stop()
            service = nil
            let log = storescp.output()
            let counted = associations(in: log)
            XCTAssertEqual(counted.received, keep > 0 ? 1 : files.count, log)
            XCTAssertEqual(counted.released, counted.received, "released, not aborted: \(log)")
        }
    }

    /// A PACS that serves one association at a time (storescp without --fork) and two senders:
    /// one opens an association while the other is sending. The first then releases instead of
    /// keeping its association, so the second is served at once instead of waiting out its
    /// timeout behind an idle association.
    func testASenderOpeningMeanwhileMakesTheOtherReleaseForAOneAssociationPACS() throws {
        try Tools.require("storescp")
        let file = try TestImages.make(1, in: dir)[0]
        let pacsPort = Tools.freePort()
        pacs = try startPACS(port: pacsPort).process
        let peer = DICOMDestinationSettings(aeTitle: "PACS", host: "127.0.0.1", port: pacsPort, callingAETitle: "WECARE",
                                            timeoutSeconds: 10).peer
        let item = DeliveryItem(file: file, fileName: "a.dcm", kind: .seg, studyInstanceUID: nil, sourceSOPInstanceUID: nil)
        deliverOnceThePACSListens(item, to: peer)
        let deliverer = DICOMDeliverer(peer: peer, keepAssociationSeconds: 60)
        let long = [DeliveryItem](repeating: item, count: 60)
        let first = Mutex<[DeliveryResult]>([])
        let sending = Thread { first.withLock { $0 = deliverer.deliver(long) } }
        sending.start()
        usleep(30_000)  // the long batch is under way
        let started = Date()
        let second = deliverer.deliver([item])
        let waited = Date().timeIntervalSince(started)
        while first.withLock({ $0.isEmpty }) { usleep(10_000) }
        XCTAssertTrue(first.withLock { $0.allSatisfy { $0.error == nil } })
        XCTAssertNil(second.first?.error, "the second sender was served")
        XCTAssertLessThan(waited, 8, "it did not wait out its 10 s timeout behind a kept association")
        XCTAssertEqual(deliverer.idleAssociationCount, 1, "the second sender's association is kept")
    }

    /// A kept association is released once it has been idle for keep_association_seconds.
    func testAKeptAssociationIsReleasedAfterItsIdleTime() throws {
        try Tools.require("storescp")
        let files = try TestImages.make(1, in: dir)
        let pacsPort = Tools.freePort()
        pacs = try startPACS(port: pacsPort, ["-v"]).process
        let peer = DICOMDestinationSettings(aeTitle: "PACS", host: "127.0.0.1", port: pacsPort, callingAETitle: "WECARE").peer
        let item = DeliveryItem(file: files[0], fileName: "a.dcm", kind: .seg, studyInstanceUID: nil, sourceSOPInstanceUID: nil)
        deliverOnceThePACSListens(item, to: peer)
        let deliverer = DICOMDeliverer(peer: peer, keepAssociationSeconds: 5)
        XCTAssertNil(deliverer.deliver([item]).first?.error)
        XCTAssertEqual(deliverer.idleAssociationCount, 1)
        deliverer.closeIdleConnections(now: Date().addingTimeInterval(4))
        XCTAssertEqual(deliverer.idleAssociationCount, 1, "not idle long enough yet")
        deliverer.closeIdleConnections(now: Date().addingTimeInterval(6))
        XCTAssertEqual(deliverer.idleAssociationCount, 0)
        let log = try XCTUnwrap(pacs).output()
        XCTAssertEqual(associations(in: log).received, 2, log)
        XCTAssertEqual(associations(in: log).released, 2, log)
    }

    func testSendCommandPushesFilesThroughTheDeliveryPath() throws {
        try Tools.require("storescp")
        let wecare = try WeCareBinary.url()
        let files = try TestImages.make(2, in: dir)
        let pacsPort = Tools.freePort()
        var config = TestConfig(dir: dir)
        config.destinations += TestConfig.pacsDestination(port: pacsPort)
        let conf = try config.write()
        let down = try Tools.run(wecare.path, ["send", "--config", conf.path, "--to", "pacs"] + files.map(\.path))
        try skipIfNetworkMissing(down.output)
        XCTAssertNotEqual(down.status, 0, down.output)
        XCTAssertTrue(down.output.contains("FAILED"), down.output)

        let (received, storescp) = try startPACS(port: pacsPort)
        pacs = storescp
        XCTAssertTrue(Tools.eventually(timeout: 10) { (try? Peers.echoPACS(port: pacsPort)) == true })
        let up = try Tools.run(wecare.path, ["send", "--config", conf.path, "--to", "pacs"] + files.map(\.path))
        XCTAssertEqual(up.status, 0, up.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: received.path).count, 2)

        let folder = try Tools.run(wecare.path, ["send", "--config", conf.path, "--to", "archive", files[0].path])
        XCTAssertEqual(folder.status, 0, folder.output)
        let unknown = try Tools.run(wecare.path, ["send", "--config", conf.path, "--to", "nowhere", files[0].path])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.output.contains("archive, pacs"), unknown.output)
    }
}

extension Peers {
    static func echoPACS(port: UInt16) throws -> Bool {
        try Tools.run("echoscu", ["-aet", "WECARE", "-aec", "PACS", "127.0.0.1", "\(port)"], timeout: 10).status == 0
    }
}
