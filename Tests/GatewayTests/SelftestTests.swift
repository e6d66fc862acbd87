import XCTest
import GRDB
@testable import Gateway

/// `wecare selftest` as an admin runs it: the built binary on a configuration, a real model,
/// ledger, openssl-made certificates, storescp as the PACS. It passes on a good installation
/// and FAILs, naming the check and what to do, on each broken part.
final class SelftestTests: XCTestCase {
    var dir: URL!
    var pacs: Tools.Running?
    override func setUpWithError() throws { dir = try Tools.temporaryDirectory("selftest") }
    override func tearDownWithError() throws {
        pacs?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let shippedModel = repository.appendingPathComponent("weights/busi_unet.onnx")

    /// A configuration that should pass: the shipped model, a folder destination, listener TLS.
    func goodConfig() throws -> TestConfig {
        var c = TestConfig(dir: dir)
        c.model = Self.shippedModel.path
        let (crt, key) = try certificate("gateway", days: 365)
        c.extra = "[tls]\ncertificate = \"\(crt)\"\nprivate_key = \"\(key)\"\n"
        return c
    }

    struct Run {
        var status: Int32
        var output: String
        /// The line of `check`, e.g. "FAIL  model ...".
        func line(_ check: String) -> String? {
            output.split(separator: "\n").map(String.init).first { String($0.dropFirst(6)).hasPrefix(check + " ") }
        }
        func status(of check: String) -> String? { line(check).map { String($0.prefix(5)).trimmingCharacters(in: .whitespaces) } }
    }

    func selftest(_ config: TestConfig, _ extra: [String] = []) throws -> Run {
        let wecare = try WeCareBinary.url()
        let r = try Tools.run(wecare.path, ["selftest", "--config", try config.write().path] + extra, timeout: 180)
        return Run(status: r.status, output: r.output)
    }

    func testPassesOnAGoodInstallationWithDestinations() async throws {
        try Tools.require("storescp", "echoscu", "openssl")
        var c = try goodConfig()
        let port = Tools.freePort()
        let received = dir.appendingPathComponent("pacs")
        try FileManager.default.createDirectory(at: received, withIntermediateDirectories: true)
        pacs = try Tools.start("storescp", ["-aet", "PACS", "-od", received.path, "\(port)"])
        let up = await Tools.eventually(timeout: 20) { (try? Peers.echo(port: port, called: "PACS"))?.status == 0 }
        XCTAssertTrue(up, "storescp did not come up")
        c.destinations += TestConfig.pacsDestination(port: port)
        // A ledger as `serve` leaves it: private, like everything under data_dir.
        try FileManager.default.createDirectory(at: c.dataDir, withIntermediateDirectories: true)
        do { _ = try SQLiteLedger(path: c.dataDir.appendingPathComponent("ledger.sqlite")) }
        XCTAssertEqual(try Tools.run("chmod", ["-R", "go-rwx", c.dataDir.path]).status, 0)
        let r = try selftest(c, ["--destinations"])
        XCTAssertEqual(r.status, 0, r.output)
        for check in ["config", "model", "data_dir", "disk", "ledger", "tls [tls]", "destination archive", "destination pacs"] {
            XCTAssertEqual(r.status(of: check), "ok", "\(check): \(r.line(check) ?? "missing")\n\(r.output)")
        }
        XCTAssertTrue(r.line("model")?.contains("phantom: benign") == true, r.output)
        XCTAssertTrue(r.line("ledger")?.contains("schema current") == true, r.output)
        XCTAssertTrue(r.line("destination pacs")?.contains("C-ECHO") == true, r.output)
        let left = try FileManager.default.subpathsOfDirectory(atPath: c.dataDir.appendingPathComponent("outbox").path)
        XCTAssertFalse(left.contains { $0.contains("selftest") }, "probe files are deleted: \(left)")
    }

    func testFailsOnAModelFileThatIsNotAModel() throws {
        let models = dir.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.shippedModel.deletingPathExtension().appendingPathExtension("json"),
                                         to: models.appendingPathComponent("busi_unet.json"))
        // The first half of the real model: a download or copy that stopped half-way.
        let bytes = try Data(contentsOf: Self.shippedModel)
        try bytes.prefix(bytes.count / 2).write(to: models.appendingPathComponent("busi_unet.onnx"))
        var c = try goodConfig()
        c.model = models.appendingPathComponent("busi_unet.onnx").path
        let r = try selftest(c)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertEqual(r.status(of: "model"), "FAIL", r.output)
        XCTAssertTrue(r.line("model")?.contains("reinstall the model") == true, r.output)
        XCTAssertEqual(r.status(of: "disk"), "ok", "the other checks still run: \(r.output)")
    }

    func testFailsOnAMissingModel() throws {
        var c = try goodConfig()
        c.model = dir.appendingPathComponent("nowhere/busi_unet.onnx").path
        let r = try selftest(c)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertEqual(r.status(of: "model"), "FAIL", r.output)
        XCTAssertTrue(r.line("model")?.contains("does not exist") == true, r.output)
    }

    /// A model that runs but is not the one its phantom was made with: a wrong result, FAIL.
    func testFailsWhenTheModelGivesAnotherResultThanItsPhantom() throws {
        let models = dir.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        for ext in ["onnx", "json", "selftest.png"] {
            try FileManager.default.copyItem(at: Self.repository.appendingPathComponent("weights/busi_unet.\(ext)"),
                                             to: models.appendingPathComponent("busi_unet.\(ext)"))
        }
        var expected = try XCTUnwrap(JSONSerialization.jsonObject(
            with: Data(contentsOf: Self.repository.appendingPathComponent("weights/busi_unet.selftest.json"))) as? [String: Any])
        expected["probabilities"] = [0.9, 0.05, 0.05]
        expected["label"] = "normal"
        try JSONSerialization.data(withJSONObject: expected).write(to: models.appendingPathComponent("busi_unet.selftest.json"))
        var c = try goodConfig()
        c.model = models.appendingPathComponent("busi_unet.onnx").path
        let r = try selftest(c)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertEqual(r.status(of: "model"), "FAIL", r.output)
        XCTAssertTrue(r.line("model")?.contains("wrong result on the phantom") == true, r.output)
    }

    func testFailsBelowTheDiskFloor() throws {
        var c = try goodConfig()
        c.minFreeDiskMB = Int(Int32.max)  // about 2 PB: no disk here has that much free
        let r = try selftest(c)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertEqual(r.status(of: "disk"), "FAIL", r.output)
        XCTAssertTrue(r.line("disk")?.contains("A700") == true, r.output)
    }

    func testFailsOnACorruptLedger() throws {
        let c = try goodConfig()
        let file = c.dataDir.appendingPathComponent("ledger.sqlite")
        try FileManager.default.createDirectory(at: c.dataDir, withIntermediateDirectories: true)
        // A real ledger whose pages other than the schema's were overwritten (a disk error, a bad
        // copy)... The schema outgrew page 1 with the reading room's tables; its other page is
        // kept too, so the damage is for the integrity check to find, not the schema read.
        do { _ = try SQLiteLedger(path: file) }  // closed again at once
        try checkpoint(file)
        let schemaPages = try DatabaseQueue(path: file.path).read { db in
            try Int.fetchAll(db, sql: "SELECT pageno FROM dbstat WHERE name = 'sqlite_schema'")
        }
        var bytes = try Data(contentsOf: file)
        XCTAssertGreaterThan(bytes.count, 8192)
        for i in 4096..<bytes.count where !schemaPages.contains(i / 4096 + 1) { bytes[i] = UInt8(truncatingIfNeeded: i &* 7919) }
        try bytes.write(to: file)
        var r = try selftest(c)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertEqual(r.status(of: "ledger"), "FAIL", r.output)
        XCTAssertTrue(r.line("ledger")?.contains("restore it from a backup") == true, r.output)
        XCTAssertTrue(r.line("ledger")?.contains("integrity check") == true, "SQLite's own words: \(r.output)")
        // ...and a file that is not a database at all.
        try Data(repeating: 0x41, count: 10_000).write(to: file)
        r = try selftest(c)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertEqual(r.status(of: "ledger"), "FAIL", r.output)
    }

    func testCertificates() throws {
        try Tools.require("openssl")
        // Expired (openssl's -days -1 ends its validity yesterday): FAIL.
        var c = try goodConfig()
        let expired = try certificate("expired", days: -1)
        c.extra = "[tls]\ncertificate = \"\(expired.certificate)\"\nprivate_key = \"\(expired.key)\"\n"
        var r = try selftest(c)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertEqual(r.status(of: "tls [tls]"), "FAIL", r.output)
        XCTAssertTrue(r.line("tls [tls]")?.contains("expired on") == true, r.output)
        // Expiring in 10 days: a warning, and selftest still passes.
        let soon = try certificate("soon", days: 10)
        c.extra = "[tls]\ncertificate = \"\(soon.certificate)\"\nprivate_key = \"\(soon.key)\"\n"
        r = try selftest(c)
        XCTAssertEqual(r.status(of: "tls [tls]"), "warn", r.output)
        XCTAssertTrue(r.line("tls [tls]")?.contains("renew it now") == true, r.output)
        XCTAssertEqual(r.status, 0, r.output)
        // Another certificate's key: the configuration itself is refused (check-config's rule),
        // so selftest FAILs there, saying which key.
        c.extra = "[tls]\ncertificate = \"\(soon.certificate)\"\nprivate_key = \"\(expired.key)\"\n"
        r = try selftest(c)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertEqual(r.status(of: "config"), "FAIL", r.output)
        XCTAssertTrue(r.output.contains("is not the private key"), r.output)
    }

    func testFailsOnAnUnreachableDICOMDestination() throws {
        var c = try goodConfig()
        c.destinations += TestConfig.pacsDestination(port: Tools.freePort())  // nothing listens there
        let r = try selftest(c, ["--destinations"])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertEqual(r.status(of: "destination pacs"), "FAIL", r.output)
        XCTAssertTrue(r.line("destination pacs")?.contains("check that the PACS is up") == true, r.output)
        XCTAssertEqual(r.status(of: "destination archive"), "ok", r.output)
        // Without --destinations nobody is contacted, so nothing fails.
        XCTAssertEqual(try selftest(c).status, 0)
    }

    func testFailsOnABrokenConfigurationAndSaysWhere() throws {
        var c = try goodConfig()
        c.extra += "\n[analysis2]\nx = 1\n"
        let r = try selftest(c)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertEqual(r.status(of: "config"), "FAIL", r.output)
        XCTAssertTrue(r.output.contains("gateway.toml:"), "problems carry FILE:LINE: \(r.output)")
    }

    // MARK: - helpers

    /// A self-signed certificate valid for `days` from now (negative: already expired).
    func certificate(_ name: String, days: Int) throws -> (certificate: String, key: String) {
        let crt = dir.appendingPathComponent("\(name).crt").path, key = dir.appendingPathComponent("\(name).key").path
        let csr = dir.appendingPathComponent("\(name).csr").path
        var r = try Tools.run("openssl", ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                                          "-subj", "/CN=\(name)"])
        XCTAssertEqual(r.status, 0, r.output)
        r = try Tools.run("openssl", ["x509", "-req", "-in", csr, "-signkey", key, "-out", crt, "-days", "\(days)"])
        XCTAssertEqual(r.status, 0, r.output)
        return (crt, key)
    }

    /// Folds the WAL into the database file, so the bytes overwritten are the ledger's pages.
    func checkpoint(_ file: URL) throws {
        let r = try Tools.run("python3", ["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
            + "c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.execute('PRAGMA journal_mode=DELETE'); c.close()", file.path])
        XCTAssertEqual(r.status, 0, r.output)
    }
}
