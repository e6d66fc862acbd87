import XCTest
@testable import Gateway

/// `[review]`: the reading room's settings, and the rule that patient data never goes over
/// plain HTTP to another machine.
final class ReviewConfigTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try Tools.temporaryDirectory("review-config") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func load(_ text: String) throws -> GatewayConfiguration {
        let file = dir.appendingPathComponent("gateway.toml")
        try (ConfigTests.valid + "\n" + text).write(to: file, atomically: true, encoding: .utf8)
        return try ConfigurationLoader.load(file)
    }

    func problems(_ text: String) throws -> [ConfigProblem] {
        do {
            _ = try load(text)
            XCTFail("expected problems for:\n\(text)")
            return []
        } catch let error as ConfigurationError {
            return error.problems
        }
    }

    /// Line numbers of `text` within the file (the valid part comes first).
    var offset: Int { ConfigTests.valid.split(separator: "\n", omittingEmptySubsequences: false).count + 1 }

    func testDefaultsAndLoopback() throws {
        XCTAssertFalse(try load("").review.enabled, "off unless asked for")
        let c = try load("[http]\nbind = \"127.0.0.1\"\n\n[review]\nenabled = true\nsession_hours = 0.5\norganization = \"St Elsewhere\"\n")
        XCTAssertTrue(c.review.enabled)
        XCTAssertEqual(c.review.sessionLifetimeSeconds, 1800)
        XCTAssertEqual(c.review.organization, "St Elsewhere")
        XCTAssertFalse(c.review.usesTLS)
        XCTAssertTrue(c.summary.contains("reading room  on, http://127.0.0.1"), c.summary)
    }

    func testAllInterfacesWithoutTLSIsRefusedWithHowToFix() throws {
        let p = try problems("[http]\nbind = \"0.0.0.0\"\n\n[review]\nenabled = true\n")
        let refusal = try XCTUnwrap(p.first { $0.message.contains("needs HTTPS") }, "\(p)")
        XCTAssertEqual(refusal.line, offset + 4, "the line of enabled = true")
        XCTAssertTrue(refusal.message.contains("certificate and private_key"), refusal.message)
        XCTAssertTrue(refusal.description.hasPrefix(dir.appendingPathComponent("gateway.toml").path + ":"), refusal.description)
    }

    func testHTTPOffAndHalfATLSPairAndUnknownKeys() throws {
        let p = try problems("[http]\nenabled = false\n\n[review]\nenabled = true\ncertificate = \"missing.pem\"\nsesion_hours = 2\n")
        XCTAssertTrue(p.contains { $0.message.contains("[http] port, which is off") }, "\(p)")
        XCTAssertTrue(p.contains { $0.message.contains("both certificate and private_key") }, "\(p)")
        XCTAssertTrue(p.contains { $0.message.contains("did you mean 'session_hours'") && $0.line == offset + 6 }, "\(p)")
    }

    func testTLSPairServesAllInterfaces() throws {
        try Tools.require("openssl")
        let cert = dir.appendingPathComponent("rr.crt").path, key = dir.appendingPathComponent("rr.key").path
        let r = try Tools.run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                                          "-days", "2", "-subj", "/CN=reading-room"])
        XCTAssertEqual(r.status, 0, r.output)
        let c = try load("[http]\nbind = \"0.0.0.0\"\n\n[review]\nenabled = true\ncertificate = \"rr.crt\"\nprivate_key = \"rr.key\"\n")
        XCTAssertTrue(c.review.usesTLS)
        XCTAssertEqual(c.review.certificateFile, cert)
        XCTAssertTrue(c.summary.contains("https://0.0.0.0"), c.summary)
    }
}
