import XCTest
@testable import Gateway

/// Analysis in worker processes (`wecare serve` with the shipped model): an image that crashes,
/// hangs or exhausts its worker costs that worker only; after `quarantine_after_failures` it is
/// quarantined, answered at the PACS by an "AI analysis unavailable" SR, and never tried again.
/// The faults are injected with the worker's failpoint (`WECARE_WORKER_FAILPOINT`).
final class WorkerIsolationTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        try Tools.require("storescu", "storescp", "dciodvfy", "dsrdump", "curl")
        dir = try Tools.temporaryDirectory("isolation")
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A storescp PACS on a free port, writing into `pacs/`.
    private func startPACS() throws -> (Tools.Running, UInt16, URL) {
        let folder = dir.appendingPathComponent("pacs")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let port = Tools.freePort()
        let pacs = try Tools.start("storescp", ["-aet", "PACS", "-od", folder.path, "\(port)"])
        return (pacs, port, folder)
    }

    private func received(_ folder: URL) -> [URL] {
        ((try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? []).filter { !$0.lastPathComponent.hasPrefix(".") }
    }

    /// The SR at the PACS that says the analysis of the source is unavailable.
    private func unavailableReports(_ folder: URL) throws -> [(file: URL, dump: String)] {
        try received(folder).filter { $0.lastPathComponent.hasPrefix("SR") }.compactMap { file in
            let dump = try Tools.run("dsrdump", ["+Pl", file.path]).output
            return dump.contains("AI analysis unavailable") ? (file, dump) : nil
        }
    }

    private func config(pacsPort: UInt16, workers: Int = 2) -> TestConfig {
        var config = TestConfig(dir: dir)
        config.destinations = TestConfig.pacsDestination(port: pacsPort, outputs: "\"seg\", \"sr\", \"pr\"")
        return config
    }

    func testAnImageThatCrashesItsWorkerIsQuarantinedAnsweredAndNeverTriedAgain() async throws {
        let (pacs, pacsPort, pacsFolder) = try startPACS()
        defer { pacs.stop() }
        let files = try TestImages.make(2, in: dir)
        let bad = try TestImages.sopInstanceUID(files[0])
        let cfg = config(pacsPort: pacsPort)
        var gateway = try ServedGateway.start(cfg, analysis: "quarantine_after_failures = 2",
                                              environment: ["WECARE_WORKER_FAILPOINT": "crash:\(bad)"])
        defer { gateway.process.stop() }
        let store = try Peers.store(files, port: gateway.dicomPort)
        XCTAssertEqual(Peers.acknowledged(in: store.output).count, 2, store.output)

        // The good image's three objects and the bad one's unavailable report reach the PACS.
        let answered = await Tools.eventually(timeout: 60) { self.received(pacsFolder).count >= 4 }
        XCTAssertTrue(answered, "PACS has \(received(pacsFolder).map(\.lastPathComponent)); gateway: \(gateway.process.output())")
        let reports = try unavailableReports(pacsFolder)
        XCTAssertEqual(reports.count, 1, received(pacsFolder).map(\.lastPathComponent).description)
        if let report = reports.first {
            XCTAssertTrue(report.dump.contains("Completion Flag     : PARTIAL"), report.dump)
            XCTAssertTrue(report.dump.contains("quarantined after 2 failed analyses"), report.dump)
            XCTAssertTrue(report.dump.contains("Algorithm Version"), report.dump)
            let verify = try Tools.run("dciodvfy", [report.file.path])
            XCTAssertFalse(verify.output.contains("Error"), verify.output)
        }
        XCTAssertTrue(gateway.isRunning, "the gateway survives its worker's crashes")
        XCTAssertEqual(try gateway.metric("wecare_analysis_worker_failures_total"), 2)
        XCTAssertEqual(try gateway.metric("wecare_jobs_quarantined_total"), 1)
        let jobs = try gateway.http("/api/v1/jobs").body
        XCTAssertTrue(jobs.contains("\"state\":\"quarantined\""), jobs)
        XCTAssertFalse(gateway.process.output().contains(bad), "the log names no SOP Instance UID")

        // After a restart the quarantined image is not analysed again: no worker dies.
        gateway.stop()
        let before = received(pacsFolder).count
        gateway = try ServedGateway.start(cfg, environment: ["WECARE_WORKER_FAILPOINT": "crash:\(bad)"])
        let after = dir.appendingPathComponent("after")
        try FileManager.default.createDirectory(at: after, withIntermediateDirectories: true)
        let more = try TestImages.make(1, in: after)
        XCTAssertEqual(Peers.acknowledged(in: try Peers.store(more, port: gateway.dicomPort).output).count, 1)
        let delivered = await Tools.eventually(timeout: 60) { self.received(pacsFolder).count >= before + 3 }
        XCTAssertTrue(delivered, gateway.process.output())
        XCTAssertEqual(try gateway.metric("wecare_analysis_worker_failures_total"), 0, gateway.process.output())
        XCTAssertEqual(try gateway.metric("wecare_jobs{state=\"quarantined\"}"), 1)
    }

    func testAHungAnalysisIsKilledAtItsTimeLimit() async throws {
        let (pacs, pacsPort, pacsFolder) = try startPACS()
        defer { pacs.stop() }
        let files = try TestImages.make(1, in: dir)
        let uid = try TestImages.sopInstanceUID(files[0])
        let gateway = try ServedGateway.start(config(pacsPort: pacsPort), analysis: "image_timeout_seconds = 2\nquarantine_after_failures = 1",
                                              environment: ["WECARE_WORKER_FAILPOINT": "hang:\(uid)"])
        defer { gateway.process.stop() }
        XCTAssertEqual(Peers.acknowledged(in: try Peers.store(files, port: gateway.dicomPort).output).count, 1)
        let answered = await Tools.eventually(timeout: 60) { ((try? self.unavailableReports(pacsFolder)) ?? []).count == 1 }
        XCTAssertTrue(answered, gateway.process.output())
        XCTAssertTrue(try unavailableReports(pacsFolder).first?.dump.contains("longer than 2 s") == true)
        XCTAssertTrue(gateway.isRunning)
    }

    func testAnAnalysisPastTheMemoryLimitKillsOnlyItsWorker() async throws {
        let (pacs, pacsPort, pacsFolder) = try startPACS()
        defer { pacs.stop() }
        let files = try TestImages.make(2, in: dir)
        let uid = try TestImages.sopInstanceUID(files[0])
        let gateway = try ServedGateway.start(config(pacsPort: pacsPort), analysis: "worker_memory_mb = 1536\nquarantine_after_failures = 1",
                                              environment: ["WECARE_WORKER_FAILPOINT": "oom:\(uid)"])
        defer { gateway.process.stop() }
        XCTAssertEqual(Peers.acknowledged(in: try Peers.store(files, port: gateway.dicomPort).output).count, 2)
        // One unavailable report, and the other image's SEG, SR and presentation state.
        let answered = await Tools.eventually(timeout: 90) { self.received(pacsFolder).count >= 4 }
        XCTAssertTrue(answered, "\(received(pacsFolder).map(\.lastPathComponent)) \(gateway.process.output())")
        XCTAssertEqual(try unavailableReports(pacsFolder).count, 1)
        XCTAssertTrue(gateway.isRunning)
    }

    func testHTTPAnalysisThatKillsItsWorkerAnswers422AndTheGatewayStaysUp() throws {
        var cfg = TestConfig(dir: dir)
        cfg.destinations = ""
        let files = try TestImages.make(1, in: dir)
        let gateway = try ServedGateway.start(cfg, environment: ["WECARE_WORKER_FAILPOINT": "crash:http"])
        defer { gateway.process.stop() }
        let r = try gateway.http("/api/v1/predict", method: "POST", body: files[0])
        XCTAssertEqual(r.status, 422, r.body)
        XCTAssertTrue(r.body.contains("cannot be analysed"), r.body)
        XCTAssertEqual(try gateway.http("/healthz").status, 200)
        XCTAssertEqual(try Peers.echo(port: gateway.dicomPort).status, 0)
    }

    func testHTTPAnalysesPastTheWaitingLineAre503WithRetryAfter() async throws {
        var cfg = TestConfig(dir: dir)
        cfg.destinations = ""
        let files = try TestImages.make(1, in: dir)
        // One worker, hung on every HTTP analysis: one request runs, two may wait, a fourth is refused.
        cfg.workers = 1
        let gateway = try ServedGateway.start(cfg, analysis: "image_timeout_seconds = 20",
                                              environment: ["WECARE_WORKER_FAILPOINT": "hang:http"])
        defer { gateway.process.stop() }
        let url = "http://127.0.0.1:\(gateway.httpPort)/api/v1/predict"
        let pending = try (0..<4).map { _ in
            try Tools.start("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "--data-binary", "@\(files[0].path)", url])
        }
        defer { pending.forEach { $0.stop() } }
        let refused = await Tools.eventually(timeout: 30) { pending.contains { $0.output() == "503" } }
        XCTAssertTrue(refused, pending.map { $0.output() }.description)
        let head = try Tools.run("curl", ["-s", "-D", "-", "-o", "/dev/null", "-X", "POST", "--data-binary", "@\(files[0].path)", url])
        XCTAssertTrue(head.output.lowercased().contains("retry-after: 5"), head.output)
        XCTAssertEqual(try gateway.http("/healthz").status, 200)
    }
}
