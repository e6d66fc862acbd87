import Foundation
import XCTest
@testable import Gateway

/// The folders of data_dir: job objects and folder destinations never share one, and a
/// destination cannot be pointed at the gateway's own folders.
final class DataDirectoryTests: XCTestCase {
    var dir: URL!
    var service: GatewayService?
    override func setUpWithError() throws { dir = try Tools.temporaryDirectory("data-directory") }
    override func tearDown() async throws {
        await service?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    func load(_ destinations: String) throws -> Result<GatewayConfiguration, ConfigurationError> {
        var config = TestConfig(dir: dir)
        config.destinations = destinations
        do { return .success(try config.load()) } catch let error as ConfigurationError { return .failure(error) }
    }

    func folder(_ name: String, path: String? = nil) -> String {
        "[[destination]]\nname = \"\(name)\"\ntype = \"folder\"\n" + (path.map { "path = \"\($0)\"\n" } ?? "") + "outputs = [\"seg\"]\n"
    }

    func testAFolderDestinationCannotUseTheGatewaysOwnFolders() throws {
        for (name, path, key) in [("jobs", nil, "name"), ("a", "spool/a", "path"), ("b", "outbox", "path"), ("c", ".", "path")] {
            guard case .failure(let error) = try load(folder(name, path: path)) else {
                XCTFail("\(name) \(path ?? "") accepted"); continue
            }
            let problem = try XCTUnwrap(error.problems.first { $0.message.contains("cannot take results") }, "\(error.problems)")
            XCTAssertTrue(problem.message.contains("give the destination another \(key)"), problem.message)
        }
        guard case .success(let ok) = try load(folder("7") + "\n" + folder("archive", path: "/tmp/wecare-archive")) else {
            return XCTFail("a destination named like a job number is fine")
        }
        guard case .folder(let seven) = ok.destinations[0].kind else { return XCTFail() }
        let data = DataDirectory(ok.dataDirectory)
        XCTAssertEqual(seven, data.outbox.appendingPathComponent("7"))
        XCTAssertNotEqual(seven, data.jobFolder(7))
    }

    /// Before, job 1's objects waiting for a PACS and a folder destination named "1" both used
    /// data_dir/outbox/1/.
    func testJobObjectsAndAFolderDestinationNamedLikeTheJobKeepApart() async throws {
        let files = try TestImages.make(1, in: dir)
        var config = TestConfig(dir: dir)
        config.destinations = folder("1") + TestConfig.pacsDestination(port: Tools.freePort())
        let s = try await GatewayService.startForTest(config, processor: TestProcessor(makeDICOM: true))
        service = s
        XCTAssertEqual(Peers.acknowledged(in: try Peers.store(files, port: s.dicomPort).output).count, 1)
        let waiting = try await Tools.eventually {
            try s.ledger.counts().deliveries[.delivered] == 2 && s.ledger.waitingDeliveries()["pacs"]?.count == 1
                && s.outbox.heldBytes == 0
        }
        XCTAssertTrue(waiting, "\(String(describing: try? s.ledger.counts()))")
        let job = try XCTUnwrap(try s.ledger.recentJobs(limit: 1).first)
        XCTAssertEqual(job.id, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: s.data.jobFolder(1).path), ["seg.dcm"])
        let destination = s.data.outbox.appendingPathComponent("1")
        let studies = try FileManager.default.contentsOfDirectory(atPath: destination.path)
        XCTAssertEqual(studies.count, 1, "only the destination's study folder: \(studies)")
        let leaf = destination.appendingPathComponent(studies[0])
        let images = try FileManager.default.contentsOfDirectory(atPath: leaf.path)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: leaf.appendingPathComponent(images[0]).path).sorted(),
                       ["result.json", "seg.dcm"])
    }
}
