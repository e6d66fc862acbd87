import Foundation
import Logging
import XCTest
@testable import Gateway

/// Recovering without an operator: a PACS that comes back after an outage gets its whole
/// backlog at once, and an analysis that fails for every image alike pauses and resumes by
/// itself, while images are still received. Real storescu and storescp on loopback.
final class RecoveryTests: XCTestCase {
    var dir: URL!
    var service: GatewayService?
    var pacs: Tools.Running?

    override func setUpWithError() throws {
        try Tools.require("storescu", "storescp")
        dir = try Tools.temporaryDirectory("recovery")
    }
    override func tearDown() async throws {
        await service?.stop()
        pacs?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    /// One sample of the service's metrics, e.g. `wecare_destination_up{destination="pacs"}`.
    func metric(_ s: GatewayService, _ name: String) -> Double? {
        s.refreshMetrics()
        for line in s.metrics.render().split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    func received(_ folder: URL) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !$0.hasPrefix(".") }.count
    }

    /// Before, each object backed off on its own while the PACS was down (up to an hour after
    /// enough failures, with a warning each time), so the last of a backlog went long after
    /// the PACS was back. Now one probe at a time (at most `probe_max_seconds` apart) finds it
    /// back, and the backlog goes at once.
    func testAPACSBackAfterAnOutageGetsItsWholeBacklogWithinSeconds() async throws {
        let images = 20
        let files = try TestImages.make(images, in: dir)
        let pacsPort = Tools.freePort()
        var config = TestConfig(dir: dir)
        config.destinations = TestConfig.pacsDestination(port: pacsPort)
        config.retryBase = 0.2
        config.retryMax = 3600  // what each object's own backoff could reach before
        config.probeMax = 1
        let capture = LogCapture()
        let s = try await GatewayService.startForTest(config, processor: TestProcessor(makeDICOM: true), logger: capture.logger)
        service = s
        XCTAssertEqual(Peers.acknowledged(in: try Peers.store(files, port: s.dicomPort).output).count, images)
        let allWaiting = try await Tools.eventually(timeout: 60) {
            try s.ledger.counts().jobs[.analysed] == images && s.ledger.waitingDeliveries()["pacs"]?.count == images
        }
        XCTAssertTrue(allWaiting, "\(String(describing: try? s.ledger.counts()))")
        // An outage long enough for per-object backoff to have grown past several seconds.
        try await Task.sleep(nanoseconds: 8_000_000_000)
        XCTAssertEqual(metric(s, #"wecare_destination_up{destination="pacs"}"#), 0)
        XCTAssertEqual(metric(s, #"wecare_destination_waiting{destination="pacs"}"#), Double(images))
        XCTAssertGreaterThan(metric(s, #"wecare_destination_oldest_waiting_seconds{destination="pacs"}"#) ?? 0, 7)
        XCTAssertTrue(s.degradations().contains { $0.contains("destination pacs down") && $0.contains("\(images) deliveries wait") },
                      "\(s.degradations())")
        XCTAssertEqual(s.outbox.heldBytes, 0, "objects waiting for a down PACS wait on disk")

        let folder = dir.appendingPathComponent("pacs")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let started = Date()
        pacs = try Tools.start("storescp", ["-aet", "PACS", "-od", folder.path, "\(pacsPort)"])
        let all = await Tools.eventually(timeout: 60) { self.received(folder) == images }
        let backlogSeconds = Date().timeIntervalSince(started)
        print("backlog of \(images) objects at the PACS \(String(format: "%.2f", backlogSeconds)) s after it started listening")
        XCTAssertTrue(all, "\(received(folder)) of \(images) at the PACS")
        XCTAssertLessThan(backlogSeconds, 5, "within one probe wait (1 s here) and the sending")
        let recorded = try await Tools.eventually { try s.ledger.counts().deliveries[.delivered] == images }
        XCTAssertTrue(recorded)

        let down = capture.matching("destination is down")
        let back = capture.matching("destination is back")
        XCTAssertEqual(down.count, 1, capture.all.map(\.message).description)
        XCTAssertEqual(back.count, 1, capture.all.map(\.message).description)
        XCTAssertEqual(back.first?.metadata["waiting"], "\(images - 1)", "all but the probe's object")
        XCTAssertEqual(capture.all.filter { $0.level >= .warning && $0.metadata["destination"] == "pacs" }.count, 1,
                       "one warning for the whole outage")
        XCTAssertEqual(metric(s, #"wecare_destination_up{destination="pacs"}"#), 1)
        XCTAssertEqual(metric(s, #"wecare_destination_waiting{destination="pacs"}"#), 0)
        XCTAssertTrue(s.degradations().isEmpty, "\(s.degradations())")
        let pacsDeliveries = try s.ledger.recentJobs(limit: 100).flatMap(\.deliveries)
        XCTAssertTrue(pacsDeliveries.allSatisfy { $0.state == "delivered" })
    }

    /// The analysis fails (as with a broken model file) until `broken` is set false; the
    /// objects it makes then are those of `TestProcessor`.
    final class BreakableProcessor: InstanceProcessor, @unchecked Sendable {
        let producerVersion = "breakable 1"
        private let lock = NSLock()
        private var isBroken = true
        private var failed = 0
        let working = TestProcessor(makeDICOM: false)

        var broken: Bool {
            get { lock.withLock { isBroken } }
            set { lock.withLock { isBroken = newValue } }
        }
        var failedCalls: Int { lock.withLock { failed } }

        func process(_ instance: ReceivedInstance, making kinds: Set<OutputKind>) async throws -> [ProducedObject] {
            let broken = lock.withLock { () -> Bool in
                if isBroken { failed += 1 }
                return isBroken
            }
            if broken { throw ProcessingError.transient("analysis worker cannot start: model file is not an ONNX model") }
            return try await working.process(instance, making: kinds)
        }
    }

    func testAnalysisPausesAfterFailuresInARowKeepsReceivingAndResumesWhenAProbeSucceeds() async throws {
        let files = try TestImages.make(8, in: dir)
        let processor = BreakableProcessor()
        var config = TestConfig(dir: dir)
        config.workers = 1
        config.analysisKeys = "pause_after_failures = 3"
        config.retryBase = 0.2
        config.probeMax = 0.5
        let capture = LogCapture()
        let s = try await GatewayService.startForTest(config, processor: processor, logger: capture.logger)
        service = s
        XCTAssertEqual(Peers.acknowledged(in: try Peers.store(Array(files.prefix(4)), port: s.dicomPort).output).count, 4)
        let paused = await Tools.eventually(timeout: 30) { s.degradations().contains { $0.contains("analysis paused") } }
        XCTAssertTrue(paused, "\(s.degradations())")
        XCTAssertEqual(metric(s, "wecare_analysis_paused"), 1)
        XCTAssertEqual(metric(s, "wecare_analysis_pauses_total"), 1)
        XCTAssertEqual(capture.matching("analysis paused").count, 1)
        XCTAssertEqual(capture.matching("analysis paused").first?.metadata["failures_in_a_row"], "3")

        // Paused: the modality notices nothing, images are stored and queued; only probes run.
        let before = processor.failedCalls
        XCTAssertEqual(Peers.acknowledged(in: try Peers.store(Array(files.suffix(4)), port: s.dicomPort).output).count, 4)
        try await Task.sleep(nanoseconds: 2_000_000_000)
        let probes = processor.failedCalls - before
        XCTAssertLessThanOrEqual(probes, 10, "one probe at a time, backing off")
        XCTAssertGreaterThanOrEqual(probes, 2, "probed while paused")
        let queue = try s.ledger.counts().jobs
        XCTAssertEqual((queue[.received] ?? 0) + (queue[.analysing] ?? 0), 8, "everything received waits in the queue: \(queue)")
        XCTAssertEqual(try s.ledger.counts().jobs[.analysed] ?? 0, 0)
        XCTAssertEqual(try s.ledger.counts().jobs[.failed] ?? 0, 0, "no image failed for the analysis's fault")

        processor.broken = false
        let resumed = try await Tools.eventually(timeout: 30) { try s.ledger.counts().jobs[.analysed] == 8 }
        XCTAssertTrue(resumed, "\(String(describing: try? s.ledger.counts()))")
        XCTAssertEqual(capture.matching("analysis resumed").count, 1)
        XCTAssertEqual(metric(s, "wecare_analysis_paused"), 0)
        XCTAssertTrue(s.degradations().isEmpty, "\(s.degradations())")
        XCTAssertEqual(processor.working.totalCalls, 8, "each image analysed once it worked")
    }

    /// `wecare serve` whose model file is replaced by garbage while it runs: a worker that dies
    /// (here on an image made to crash it) cannot be replaced, every analysis fails alike, and
    /// the gateway pauses analysis while it keeps receiving. The model put back, a probe image
    /// succeeds and the queue is analysed.
    func testAServedGatewayPausesOnABrokenModelFileAndResumesWhenItIsRepaired() async throws {
        try Tools.require("curl")
        let model = dir.appendingPathComponent("busi_unet.onnx")
        for name in ["busi_unet.onnx", "busi_unet.json"] {  // the model and its card
            try FileManager.default.copyItem(at: ServedGateway.repositoryRoot.appendingPathComponent("weights/\(name)"),
                                             to: dir.appendingPathComponent(name))
        }
        let files = try TestImages.make(4, in: dir)
        let crasher = try TestImages.sopInstanceUID(files[0])
        var config = TestConfig(dir: dir)
        config.workers = 1
        config.probeMax = 0.5
        let gateway = try ServedGateway.start(config, analysis: "quarantine_after_failures = 1\npause_after_failures = 2", model: model,
                                              environment: ["WECARE_WORKER_FAILPOINT": "crash:\(crasher)"])
        defer { gateway.process.stop() }
        let good = try Data(contentsOf: model)
        try Data("not an ONNX model".utf8).write(to: model)

        XCTAssertEqual(Peers.acknowledged(in: try Peers.store(files, port: gateway.dicomPort).output).count, 4)
        let paused = await Tools.eventually(timeout: 60) { (try? gateway.metric("wecare_analysis_paused")) == 1 }
        XCTAssertTrue(paused, gateway.process.output())
        let ready = try gateway.http("/readyz")
        XCTAssertEqual(ready.status, 200, "the gateway still receives")
        XCTAssertTrue(ready.body.contains("analysis paused"), ready.body)
        XCTAssertEqual(gateway.process.output().components(separatedBy: "analysis paused").count - 1, 1, gateway.process.output())
        let more = dir.appendingPathComponent("more")
        try FileManager.default.createDirectory(at: more, withIntermediateDirectories: true)
        XCTAssertEqual(Peers.acknowledged(in: try Peers.store(try TestImages.make(2, in: more), port: gateway.dicomPort).output).count, 2,
                       "receiving goes on while analysis is paused")

        try good.write(to: model)
        let resumed = await Tools.eventually(timeout: 120) { (try? gateway.metric(#"wecare_jobs{state="analysed"}"#)) == 5 }
        XCTAssertTrue(resumed, gateway.process.output())
        XCTAssertEqual(try gateway.metric("wecare_analysis_paused"), 0)
        XCTAssertEqual(try gateway.metric(#"wecare_jobs{state="quarantined"}"#), 1, "the image that crashed its worker")
        XCTAssertTrue(gateway.process.output().contains("analysis resumed"), gateway.process.output())
        XCTAssertFalse(try gateway.http("/readyz").body.contains("degraded"))
    }

    /// Images that fail for their own reasons say nothing about the analysis: no pause.
    func testImagesThatFailForGoodDoNotPauseTheAnalysis() async throws {
        let files = try TestImages.make(4, in: dir)
        var config = TestConfig(dir: dir)
        config.workers = 1
        config.analysisKeys = "pause_after_failures = 2"
        let s = try await GatewayService.startForTest(config, processor: TestProcessor(permanentFailure: true))
        service = s
        XCTAssertEqual(Peers.acknowledged(in: try Peers.store(files, port: s.dicomPort).output).count, 4)
        let failed = try await Tools.eventually(timeout: 30) { try s.ledger.counts().jobs[.failed] == 4 }
        XCTAssertTrue(failed)
        XCTAssertEqual(metric(s, "wecare_analysis_paused"), 0)
        XCTAssertTrue(s.degradations().isEmpty, "\(s.degradations())")
    }
}
