import Hummingbird
import Logging
import XCTest
@testable import Gateway
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

final class HTTPTests: XCTestCase {
    var dir: URL!
    var service: GatewayService?

    override func setUpWithError() throws { dir = try Tools.temporaryDirectory("http") }
    override func tearDown() async throws {
        await service?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    func get(_ port: Int, _ path: String) async throws -> (Int, String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    func testHealthReadinessMetricsJobsAndExtraRoutes() async throws {
        let files = try TestImages.make(2, in: dir)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let service = try GatewayService(
            configuration: try TestConfig(dir: dir).load(), processor: TestProcessor(),
            routes: [{ router in router.get("api/v1/ping") { _, _ in "pong" } }], logger: logger)
        self.service = service
        do { try await service.start() } catch { try skipIfNetworkMissing(error); throw error }
        let port = try XCTUnwrap(service.httpPort)
        _ = try Peers.store(files, port: service.dicomPort)
        let ok35 = try await Tools.eventually { try service.ledger.counts().deliveries[.delivered] == 4 }
        XCTAssertTrue(ok35)

        let (healthStatus, _) = try await get(port, "/healthz")
        XCTAssertEqual(healthStatus, 200)
        let (readyStatus, readyBody) = try await get(port, "/readyz")
        XCTAssertEqual(readyStatus, 200, readyBody)
        let (_, metrics) = try await get(port, "/metrics")
        for line in [#"wecare_instances_received_total{status="0000"} 2"#, #"wecare_jobs{state="analysed"} 2"#,
                     #"wecare_deliveries{state="delivered"} 4"#, "wecare_associations_total 1", "wecare_disk_headroom_bytes",
                     "wecare_analysis_duration_seconds_count 2", "wecare_outbox_memory_bytes 0"] {
            XCTAssertTrue(metrics.contains(line), "missing \(line) in\n\(metrics)")
        }
        let (jobsStatus, jobs) = try await get(port, "/api/v1/jobs")
        XCTAssertEqual(jobsStatus, 200)
        let decoded = try JSONSerialization.jsonObject(with: Data(jobs.utf8)) as? [[String: Any]]
        XCTAssertEqual(decoded?.count, 2)
        for file in files {
            let uid = try TestImages.sopInstanceUID(file)
            XCTAssertFalse(jobs.contains(uid), "no UIDs in the API")
            XCTAssertTrue(jobs.contains(UIDHash.short(uid)))
        }
        XCTAssertFalse(jobs.contains("Test^Patient"))
        let (oneStatus, one) = try await get(port, "/api/v1/jobs/1")
        XCTAssertEqual(oneStatus, 200)
        XCTAssertTrue(one.contains("\"deliveries\""), one)
        let (missing, _) = try await get(port, "/api/v1/jobs/999")
        XCTAssertEqual(missing, 404)
        let (pingStatus, pong) = try await get(port, "/api/v1/ping")
        XCTAssertEqual(pingStatus, 200)
        XCTAssertEqual(pong, "pong")
    }

    func testReadinessFailsBelowTheDiskFloor() async throws {
        var config = TestConfig(dir: dir)
        config.minFreeDiskMB = 1_000_000_000
        let service = try await GatewayService.startForTest(config, processor: nil)
        self.service = service
        let (status, body) = try await get(try XCTUnwrap(service.httpPort), "/readyz")
        XCTAssertEqual(status, 503)
        XCTAssertTrue(body.contains("below min_free_disk_mb"), body)
    }

    func testWrongMethodsGet405WithAllowAndHEADWorksWhereGETDoes() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let service = try GatewayService(
            configuration: try TestConfig(dir: dir).load(), processor: TestProcessor(),
            routes: [{ router in router.post("api/v1/predict") { _, _ in "analysed" } }], logger: logger)
        self.service = service
        do { try await service.start() } catch { try skipIfNetworkMissing(error); throw error }
        let port = try XCTUnwrap(service.httpPort)
        func ask(_ method: String, _ path: String) async throws -> (Int, String?, Int) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            request.httpMethod = method
            let (data, response) = try await URLSession.shared.data(for: request)
            let http = response as? HTTPURLResponse
            return (http?.statusCode ?? 0, http?.value(forHTTPHeaderField: "Allow"), data.count)
        }
        let post = try await ask("POST", "/healthz")
        XCTAssertEqual(post.0, 405)
        XCTAssertEqual(post.1, "GET, HEAD")
        let delete = try await ask("DELETE", "/api/v1/jobs/7")
        XCTAssertEqual(delete.0, 405)
        XCTAssertEqual(delete.1, "GET, HEAD")
        let getPredict = try await ask("GET", "/api/v1/predict")
        XCTAssertEqual(getPredict.0, 405)
        XCTAssertEqual(getPredict.1, "POST")
        for path in ["/healthz", "/readyz", "/metrics", "/api/v1/jobs"] {
            let head = try await ask("HEAD", path)
            XCTAssertEqual(head.0, 200, path)
            XCTAssertEqual(head.2, 0, "HEAD \(path) has no body")
        }
        let unknown = try await ask("GET", "/no/such/page")
        XCTAssertEqual(unknown.0, 404)
    }
}
