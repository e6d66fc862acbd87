import DICOM
import XCTest

/// DICOM over TLS with a certificate made by openssl: DCMTK's echoscu/storescu and our SCU against our SCP.
final class NetworkTLSTests: XCTestCase {
    func testEchoAndStoreOverTLS() throws {
        let directory = try NetworkTestInputs.temporaryDirectory("tls")
        defer { try? FileManager.default.removeItem(at: directory) }
        let inbox = directory.appendingPathComponent("inbox")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        let server = try NetworkTestInputs.selfSignedCertificate(in: directory, name: "server")
        let client = try NetworkTestInputs.selfSignedCertificate(in: directory, name: "client")
        let delegate = ExampleStorageDelegate(aeTitle: "WECARE", knownCallingAETitles: ["MODALITY"], directory: inbox)
        let serverTLS = TLSConfiguration(certificateFile: server.certificate, privateKeyFile: server.key,
                                         trustedCertificatesFile: client.certificate, requirePeerCertificate: true)
        let scp = try StorageSCP(configuration: StorageSCPConfiguration(aeTitle: "WECARE", port: 0, tls: serverTLS),
                                 delegate: delegate)
        try scp.start()
        defer { scp.stop() }
        let port = "\(scp.boundPort)"

        let tlsArguments = ["+tls", client.key, client.certificate, "+cf", server.certificate]
        let echo = try ExternalTool.run(try ExternalTool.dcmtk("echoscu"),
                                        tlsArguments + ["-aet", "MODALITY", "-aec", "WECARE", "127.0.0.1", port])
        XCTAssertEqual(echo.status, 0, echo.output)

        let file = try NetworkTestInputs.ultrasoundImage(in: directory)
        let store = try ExternalTool.run(try ExternalTool.dcmtk("storescu"),
                                         tlsArguments + ["-aet", "MODALITY", "-aec", "WECARE", "127.0.0.1", port, file.path])
        XCTAssertEqual(store.status, 0, store.output)
        XCTAssertEqual(delegate.received.last?.status, .success)

        // Plain TCP to a TLS port fails.
        let plain = try ExternalTool.run(try ExternalTool.dcmtk("echoscu"),
                                         ["-to", "5", "-ta", "5", "-aet", "MODALITY", "-aec", "WECARE", "127.0.0.1", port])
        XCTAssertNotEqual(plain.status, 0)

        // A client without a certificate is refused when the SCP requires one.
        let anonymous = try ExternalTool.run(try ExternalTool.dcmtk("echoscu"),
                                             ["+tla", "+cf", server.certificate, "-aet", "MODALITY", "-aec", "WECARE", "127.0.0.1", port])
        XCTAssertNotEqual(anonymous.status, 0, anonymous.output)

        // Our SCU with the client certificate, verifying the server.
        let clientTLS = TLSConfiguration(certificateFile: client.certificate, privateKeyFile: client.key,
                                         trustedCertificatesFile: server.certificate, requirePeerCertificate: true)
        let peer = DICOMPeer(aeTitle: "WECARE", host: "127.0.0.1", port: scp.boundPort, callingAETitle: "MODALITY",
                             tls: clientTLS, timeoutSeconds: 10)
        XCTAssertNoThrow(try StorageSCU.echo(peer))
        let second = try NetworkTestInputs.relabel(file, sopClassUID: NetworkTestInputs.ultrasoundImageStorage,
                                                   name: "second", in: directory)
        let outcomes = try StorageSCU.send([second], to: peer)
        XCTAssertEqual(outcomes.first?.status, .success, outcomes.first?.error ?? "")

        // Our SCU refuses a server it does not trust.
        var untrusting = clientTLS
        untrusting.trustedCertificatesFile = client.certificate
        let wary = DICOMPeer(aeTitle: "WECARE", host: "127.0.0.1", port: scp.boundPort, callingAETitle: "MODALITY",
                             tls: untrusting, timeoutSeconds: 10)
        XCTAssertThrowsError(try StorageSCU.echo(wary)) { error in
            guard case DICOMNetworkError.tlsFailed = error else { return XCTFail("\(error)") }
        }
        // Our SCU without TLS to the TLS port fails at association level.
        let plainPeer = DICOMPeer(aeTitle: "WECARE", host: "127.0.0.1", port: scp.boundPort, callingAETitle: "MODALITY",
                                  timeoutSeconds: 5)
        XCTAssertThrowsError(try StorageSCU.echo(plainPeer)) { error in
            XCTAssertNotNil(error as? DICOMNetworkError, "\(error)")
        }
    }

    /// A client that connects and sends nothing and one that sends a ClientHello a byte every
    /// 0.5 s (never finishing the handshake) each hold a handshake thread; a modality's C-ECHO over
    /// TLS is answered at once all the same.
    func testSilentAndSlowTLSClientsDoNotDelayAnotherModality() throws {
        let directory = try NetworkTestInputs.temporaryDirectory("tls-slow")
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try NetworkTestInputs.selfSignedCertificate(in: directory, name: "server")
        let client = try NetworkTestInputs.selfSignedCertificate(in: directory, name: "client")
        let delegate = ExampleStorageDelegate(aeTitle: "WECARE", knownCallingAETitles: ["MODALITY"], directory: directory)
        let serverTLS = TLSConfiguration(certificateFile: server.certificate, privateKeyFile: server.key,
                                         trustedCertificatesFile: client.certificate, requirePeerCertificate: true)
        let scp = try StorageSCP(configuration: StorageSCPConfiguration(aeTitle: "WECARE", port: 0, maxAssociations: 4,
                                                                        acseTimeoutSeconds: 10, tls: serverTLS),
                                 delegate: delegate)
        try scp.start()
        defer { scp.stop() }
        let silent = try RawClient.connect(port: scp.boundPort)
        defer { close(silent) }
        let slow = try TricklingClient(port: scp.boundPort, bytes: RawClient.tlsClientHelloPrefix)
        defer { slow.stop() }
        let started = Date()
        let echo = try ExternalTool.run(try ExternalTool.dcmtk("echoscu"),
                                        ["+tls", client.key, client.certificate, "+cf", server.certificate,
                                         "-aet", "MODALITY", "-aec", "WECARE", "127.0.0.1", "\(scp.boundPort)"])
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(echo.status, 0, echo.output)
        XCTAssertLessThan(elapsed, 1.0, "the C-ECHO waited for the silent or the slow TLS client")
        XCTAssertFalse(slow.closedByServer, "the slow client is still within its deadline")
    }

    /// With `requirePeerCertificate = false` a client may come without a certificate, but one it
    /// presents is checked: a certificate from an unknown CA is refused, and reported.
    func testUnknownCAClientCertificateIsRefusedWhenNotRequired() throws {
        let directory = try NetworkTestInputs.temporaryDirectory("tls-unknown-ca")
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try NetworkTestInputs.selfSignedCertificate(in: directory, name: "server")
        let client = try NetworkTestInputs.selfSignedCertificate(in: directory, name: "client")
        let stranger = try NetworkTestInputs.selfSignedCertificate(in: directory, name: "stranger")
        let delegate = ExampleStorageDelegate(aeTitle: "WECARE", knownCallingAETitles: ["MODALITY"], directory: directory)
        let serverTLS = TLSConfiguration(certificateFile: server.certificate, privateKeyFile: server.key,
                                         trustedCertificatesFile: client.certificate, requirePeerCertificate: false)
        let scp = try StorageSCP(configuration: StorageSCPConfiguration(aeTitle: "WECARE", port: 0, tls: serverTLS),
                                 delegate: delegate)
        try scp.start()
        defer { scp.stop() }
        let echoscu = try ExternalTool.dcmtk("echoscu")
        let target = ["-aet", "MODALITY", "-aec", "WECARE", "127.0.0.1", "\(scp.boundPort)"]

        let unknown = try ExternalTool.run(echoscu, ["+tls", stranger.key, stranger.certificate, "+cf", server.certificate] + target)
        XCTAssertNotEqual(unknown.status, 0, "a certificate from an unknown CA must be refused: \(unknown.output)")
        XCTAssertEqual(delegate.connectionFailedSignal.wait(timeout: .now() + 15), .success)
        XCTAssertEqual(delegate.failures.map(\.reason), [.tlsHandshakeFailed], "\(delegate.failures)")
        XCTAssertEqual(delegate.failures.first?.peerAddress, "127.0.0.1")

        let trusted = try ExternalTool.run(echoscu, ["+tls", client.key, client.certificate, "+cf", server.certificate] + target)
        XCTAssertEqual(trusted.status, 0, trusted.output)
        let anonymous = try ExternalTool.run(echoscu, ["+tla", "+cf", server.certificate] + target)
        XCTAssertEqual(anonymous.status, 0, "no certificate is fine when none is required: \(anonymous.output)")
        XCTAssertEqual(delegate.failures.count, 1)
    }

    func testMisconfiguredTLSFailsEarlyWithAClearError() throws {
        let directory = try NetworkTestInputs.temporaryDirectory("tls-config")
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try NetworkTestInputs.selfSignedCertificate(in: directory, name: "server")
        let other = try NetworkTestInputs.selfSignedCertificate(in: directory, name: "other")
        let delegate = ExampleStorageDelegate(aeTitle: "WECARE", knownCallingAETitles: [], directory: directory)
        let cases: [TLSConfiguration] = [
            TLSConfiguration(certificateFile: server.certificate, privateKeyFile: server.key,
                             trustedCertificatesFile: nil, requirePeerCertificate: true),
            TLSConfiguration(certificateFile: server.certificate, privateKeyFile: other.key,
                             trustedCertificatesFile: nil, requirePeerCertificate: false),
            TLSConfiguration(certificateFile: directory.appendingPathComponent("missing.pem").path,
                             privateKeyFile: server.key, requirePeerCertificate: false),
        ]
        for tls in cases {
            XCTAssertThrowsError(try StorageSCP(configuration: StorageSCPConfiguration(aeTitle: "WECARE", port: 0, tls: tls),
                                                delegate: delegate)) { error in
                guard case DICOMNetworkError.tlsFailed(let message) = error else { return XCTFail("\(error)") }
                XCTAssertFalse(message.isEmpty)
            }
        }
        let peer = DICOMPeer(aeTitle: "A-TITLE-LONGER-THAN-16", host: "127.0.0.1", port: 104, callingAETitle: "WECARE")
        XCTAssertThrowsError(try StorageSCU.echo(peer)) { error in
            guard case DICOMNetworkError.invalidConfiguration = error else { return XCTFail("\(error)") }
        }
    }
}
