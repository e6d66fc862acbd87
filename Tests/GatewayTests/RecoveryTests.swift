import Foundation
import Logging
import XCTest
@testable import Gateway

/// Recovering without an operator: a PACS that comes back after an outage gets its whole
/// backlog at once. Real storescu and storescp on loopback.
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
}
