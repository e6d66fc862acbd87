import XCTest
@testable import Gateway

/// [tls] for the listener and [destination.tls] for a PACS pass through to DICOM TLS, checked
/// with DCMTK's echoscu/storescu/storescp in TLS mode and certificates made here by openssl.
final class TLSTests: XCTestCase {
    var dir: URL!
    var service: GatewayService?
    var pacs: Tools.Running?

    override func setUpWithError() throws { dir = try Tools.temporaryDirectory("tls") }
    override func tearDown() async throws {
        await service?.stop()
        pacs?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    /// A self-signed certificate and key (PEM) named `name`.crt/.key.
    func certificate(_ name: String) throws -> (certificate: String, key: String) {
        try Tools.require("openssl")
        let crt = dir.appendingPathComponent("\(name).crt").path
        let key = dir.appendingPathComponent("\(name).key").path
        let r = try Tools.run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                                          "-days", "2", "-subj", "/CN=\(name)"])
        XCTAssertEqual(r.status, 0, r.output)
        return (crt, key)
    }

    func testListenerAndPACSDestinationOverTLS() async throws {
        try Tools.require("echoscu", "storescu", "storescp")
        let gateway = try certificate("gateway")
        let modality = try certificate("modality")
        let pacsCert = try certificate("pacs")
        let files = try TestImages.make(1, in: dir)
        let pacsPort = Tools.freePort()
        var config = TestConfig(dir: dir)
        config.extra = """
            [tls]
            certificate = "\(gateway.certificate)"
            private_key = "\(gateway.key)"
            trusted_certificates = "\(modality.certificate)"
            require_client_certificate = true

            """
        config.destinations += TestConfig.pacsDestination(port: pacsPort, """
            [destination.tls]
            certificate = "\(gateway.certificate)"
            private_key = "\(gateway.key)"
            trusted_certificates = "\(pacsCert.certificate)"
            verify_peer = true
            """)
        let received = dir.appendingPathComponent("pacs")
        try FileManager.default.createDirectory(at: received, withIntermediateDirectories: true)
        pacs = try Tools.start("storescp", ["+tls", pacsCert.key, pacsCert.certificate, "+cf", gateway.certificate,
                                            "-aet", "PACS", "-od", received.path, "\(pacsPort)"])
        let s = try await GatewayService.startForTest(config, processor: TestProcessor(makeDICOM: true))
        service = s
        let port = "\(s.dicomPort)"
        let tls = ["+tls", modality.key, modality.certificate, "+cf", gateway.certificate]

        let echo = try Tools.run("echoscu", tls + ["-aet", "US_ROOM1", "-aec", "WECARE", "127.0.0.1", port], timeout: 30)
        XCTAssertEqual(echo.status, 0, echo.output)
        let plain = try Tools.run("echoscu", ["-to", "5", "-ta", "5", "-aet", "US_ROOM1", "-aec", "WECARE", "127.0.0.1", port], timeout: 30)
        XCTAssertNotEqual(plain.status, 0, "plain DICOM to the TLS listener must fail")
        let anonymous = try Tools.run("echoscu", ["+tla", "+cf", gateway.certificate, "-aet", "US_ROOM1", "-aec", "WECARE", "127.0.0.1", port],
                                      timeout: 30)
        XCTAssertNotEqual(anonymous.status, 0, "a modality without a certificate is refused: \(anonymous.output)")

        let store = try Tools.run("storescu", ["-v"] + tls + ["-aet", "US_ROOM1", "-aec", "WECARE", "127.0.0.1", port, files[0].path],
                                  timeout: 60)
        XCTAssertEqual(Peers.acknowledged(in: store.output).count, 1, store.output)
        let delivered = await Tools.eventually(timeout: 60) { (try? s.ledger.counts().deliveries[.delivered]) == 4 }
        XCTAssertTrue(delivered, "\(String(describing: try? s.ledger.recentJobs(limit: 1)))")
        let got = try FileManager.default.contentsOfDirectory(atPath: received.path)
        XCTAssertEqual(got.count, 1, "the SEG reached the PACS over TLS: \(got) \(pacs?.output() ?? "") \(String(describing: try? s.ledger.recentJobs(limit: 1)))")
    }

    /// serve would fail every TLS handshake with a key that is not the certificate's: check-config
    /// (the loader) says so, on the private_key line.
    func testKeyThatDoesNotMatchItsCertificateIsAConfigurationErrorOnItsLine() throws {
        let gateway = try certificate("gateway")
        let other = try certificate("other")
        var config = TestConfig(dir: dir)
        config.extra = "[tls]\ncertificate = \"\(gateway.certificate)\"\nprivate_key = \"\(other.key)\"\n"
        let file = try config.write()
        let lines = try String(contentsOf: file, encoding: .utf8).components(separatedBy: "\n")
        let keyLine = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("private_key") }) + 1
        XCTAssertThrowsError(try ConfigurationLoader.load(file)) { error in
            let problems = (error as? ConfigurationError)?.problems ?? []
            XCTAssertEqual(problems.count, 1, "\(problems)")
            XCTAssertEqual(problems.first?.line, keyLine, "\(problems)")
            XCTAssertTrue(problems.first?.message.contains("is not the private key of the certificate") == true, "\(problems)")
            XCTAssertTrue(problems.first?.description.hasPrefix("\(file.path):\(keyLine): ") == true, "\(problems)")
        }
        // The matching key passes.
        config.extra = "[tls]\ncertificate = \"\(gateway.certificate)\"\nprivate_key = \"\(gateway.key)\"\n"
        XCTAssertNoThrow(try ConfigurationLoader.load(try config.write()))
    }

    func testMissingCertificateFilesAreConfigurationErrors() throws {
        var config = TestConfig(dir: dir)
        config.extra = "[tls]\ncertificate = \"nope.crt\"\nprivate_key = \"nope.key\"\n"
        let file = try config.write()
        XCTAssertThrowsError(try ConfigurationLoader.load(file)) { error in
            let problems = (error as? ConfigurationError)?.problems ?? []
            XCTAssertEqual(problems.filter { $0.message.contains("cannot read") }.count, 2, "\(problems)")
            XCTAssertTrue(problems.allSatisfy { $0.line != nil })
        }
    }
}
