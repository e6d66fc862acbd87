import DICOM
import XCTest

/// The Storage SCP against DCMTK's own echoscu/storescu on loopback.
final class NetworkSCPTests: XCTestCase {
    private var directory: URL!
    private var delegate: ExampleStorageDelegate!
    private var scp: StorageSCP!

    override func setUpWithError() throws {
        directory = try NetworkTestInputs.temporaryDirectory("scp")
        let inbox = directory.appendingPathComponent("inbox")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        delegate = ExampleStorageDelegate(aeTitle: "WECARE", knownCallingAETitles: ["MODALITY"], directory: inbox)
    }

    override func tearDown() {
        scp?.stop()
        scp = nil
        try? FileManager.default.removeItem(at: directory)
    }

    private func startSCP(maxAssociations: Int = 4) throws -> UInt16 {
        let configuration = StorageSCPConfiguration(aeTitle: "WECARE", port: 0, maxAssociations: maxAssociations,
                                                    acseTimeoutSeconds: 10, dimseTimeoutSeconds: 20)
        scp = try StorageSCP(configuration: configuration, delegate: delegate)
        try scp.start()
        XCTAssertNotEqual(scp.boundPort, 0)
        return scp.boundPort
    }

    private func echoscu(calling: String = "MODALITY", called: String = "WECARE", port: UInt16) throws -> ExternalTool.Result {
        try ExternalTool.run(try ExternalTool.dcmtk("echoscu"), ["-aet", calling, "-aec", called, "127.0.0.1", "\(port)"])
    }

    private var inboxFiles: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: delegate.directory.path)) ?? []
    }

    func testEchoFromKnownModalityIsAccepted() throws {
        let port = try startSCP()
        let result = try echoscu(port: port)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(delegate.requests.first?.callingAETitle, "MODALITY")
        XCTAssertEqual(delegate.requests.first?.peerAddress, "127.0.0.1")
        // associationEnded comes from the worker thread right after the release.
        let deadline = Date().addingTimeInterval(10)
        while delegate.ended.isEmpty && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(delegate.ended.count, 1)
        XCTAssertEqual(delegate.ended.first?.end, .released)
    }

    func testProbesAndGarbageDoNotStopTheListener() throws {
        let port = try startSCP()
        try RawClient.connectAndClose(port: port)
        try RawClient.connectAndClose(port: port, sending: "GET / HTTP/1.0\r\n\r\n")
        XCTAssertEqual(try echoscu(port: port).status, 0)
        for _ in 0..<2 { XCTAssertEqual(delegate.connectionFailedSignal.wait(timeout: .now() + 15), .success) }
        // Each on its own handshake thread: in either order.
        XCTAssertEqual(Set(delegate.failures.map(\.reason)), [.closedBeforeRequest, .malformedPDU], "\(delegate.failures)")
        XCTAssertTrue(delegate.failures.allSatisfy { $0.peerAddress == "127.0.0.1" }, "\(delegate.failures)")
        XCTAssertEqual(delegate.requests.count, 1, "only the echo reached the delegate")
    }

    /// A bare TCP connect/close used to reach the delegate as an association request with empty AE
    /// titles (DCMTK ends a connection closed before its first PDU like a normal one), and so was
    /// logged as a called-AE refusal.
    func testBareConnectAndCloseIsReportedAsSuchNotAsARefusal() throws {
        let port = try startSCP()
        try RawClient.connectAndClose(port: port)
        XCTAssertEqual(delegate.connectionFailedSignal.wait(timeout: .now() + 15), .success)
        XCTAssertEqual(delegate.failures.map(\.reason), [.closedBeforeRequest])
        XCTAssertEqual(delegate.failures.first?.peerAddress, "127.0.0.1")
        XCTAssertTrue(delegate.requests.isEmpty, "no association request: \(delegate.requests)")
    }

    /// One silent client and one that trickles an A-ASSOCIATE-RQ hold a handshake thread each;
    /// another modality's C-ECHO is answered at once all the same.
    func testSilentAndTricklingClientsDoNotDelayAnotherModality() throws {
        let port = try startSCP() // ACSE timeout 10 s: longer than the whole test
        let silent = try RawClient.connect(port: port)
        defer { close(silent) }
        let trickler = try TricklingClient(port: port, bytes: RawClient.associateRequestPrefix)
        defer { trickler.stop() }
        let started = Date()
        let result = try echoscu(port: port)
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertLessThan(elapsed, 1.0, "the C-ECHO waited for the silent or the trickling client")
        XCTAssertFalse(trickler.closedByServer, "the trickler is still within its deadline")
    }

    func testTricklingClientIsCutAtItsDeadlineAndReportedOnce() throws {
        let configuration = StorageSCPConfiguration(aeTitle: "WECARE", port: 0, maxAssociations: 2,
                                                    acseTimeoutSeconds: 2, dimseTimeoutSeconds: 20)
        scp = try StorageSCP(configuration: configuration, delegate: delegate)
        try scp.start()
        let port = scp.boundPort
        // A byte every 0.5 s: no single read ever waits the 2 s ACSE timeout, so only the overall
        // deadline can end it (the bytes would last two minutes).
        let trickler = try TricklingClient(port: port, bytes: RawClient.associateRequestPrefix)
        defer { trickler.stop() }
        XCTAssertTrue(trickler.waitUntilFinished(timeout: 30), "the trickling client was never cut off")
        XCTAssertTrue(trickler.closedByServer)
        XCTAssertLessThan(trickler.bytesSent, RawClient.associateRequestPrefix.count)
        XCTAssertEqual(delegate.connectionFailedSignal.wait(timeout: .now() + 15), .success)
        // Another association afterwards: the listener is fine and nothing more is reported.
        XCTAssertEqual(try echoscu(port: port).status, 0)
        XCTAssertEqual(delegate.failures.count, 1, "\(delegate.failures)")
        XCTAssertEqual(delegate.failures.first?.reason, .deadlineExpired)
        XCTAssertEqual(delegate.failures.first?.peerAddress, "127.0.0.1")
        XCTAssertTrue(delegate.requests.allSatisfy { $0.callingAETitle == "MODALITY" }, "the trickler never reached the delegate")
    }

    /// stop() does not wait out a silent client's deadline (10 s here): it cuts the handshake.
    func testStopCutsHandshakesInProgress() throws {
        let port = try startSCP()
        let silent = try RawClient.connect(port: port)
        defer { close(silent) }
        // Served after the silent client was accepted (the backlog is first come, first served).
        XCTAssertEqual(try echoscu(port: port).status, 0)
        scp.stop()
        XCTAssertEqual(delegate.failures.map(\.reason), [.stopping], "reported before stop() returned")
        var byte: UInt8 = 0
        XCTAssertEqual(recv(silent, &byte, 1, 0), 0, "the silent client's connection was closed")
    }

    func testHandshakesBeyondTheirLimitAreClosedAndReported() throws {
        let configuration = StorageSCPConfiguration(aeTitle: "WECARE", port: 0, maxAssociations: 4, maxHandshakes: 1,
                                                    acseTimeoutSeconds: 10, dimseTimeoutSeconds: 20)
        scp = try StorageSCP(configuration: configuration, delegate: delegate)
        try scp.start()
        let silent = try RawClient.connect(port: scp.boundPort)
        defer { close(silent) }
        // The silent client holds the only handshake slot: the next connection is closed at once.
        let result = try echoscu(port: scp.boundPort)
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertEqual(delegate.connectionFailedSignal.wait(timeout: .now() + 15), .success)
        XCTAssertEqual(delegate.failures.map(\.reason), [.handshakeLimit])
        XCTAssertTrue(delegate.requests.isEmpty)
    }

    func testUnknownCallingAETitleIsRefused() throws {
        let port = try startSCP()
        let result = try echoscu(calling: "STRANGER", port: port)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("Calling AE Title Not Recognized"), result.output)
        XCTAssertTrue(delegate.ended.isEmpty, "a refused association never started")
    }

    func testWrongCalledAETitleIsRefusedWithReason7() throws {
        let port = try startSCP()
        let result = try echoscu(called: "SOMEONEELSE", port: port)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("Called AE Title Not Recognized"), result.output)
    }

    func testUltrasoundImagesArriveUnchangedInEveryAcceptedEncoding() throws {
        let port = try startSCP()
        let source = try NetworkTestInputs.ultrasoundImage(in: directory)
        let storescu = try ExternalTool.dcmtk("storescu")
        for encoding in NetworkTestInputs.encodings {
            let file = try NetworkTestInputs.encode(source, as: encoding, in: directory)
            XCTAssertEqual(try NetworkTestInputs.transferSyntax(of: file), encoding.transferSyntaxUID, encoding.name)
            // Propose the file's own transfer syntax (plus storescu's uncompressed fallback): the SCP must pick the former.
            let result = try ExternalTool.run(storescu, ["-R", encoding.storescuProposal, "-aet", "MODALITY", "-aec", "WECARE", "127.0.0.1", "\(port)", file.path])
            XCTAssertEqual(result.status, 0, "\(encoding.name): \(result.output)")
            let uid = try NetworkTestInputs.sopInstanceUID(of: file)
            let received = delegate.directory.appendingPathComponent("\(uid).dcm")
            XCTAssertEqual(try NetworkTestInputs.transferSyntax(of: received), encoding.transferSyntaxUID, encoding.name)
            XCTAssertEqual(try NetworkTestInputs.datasetBytes(of: received), try NetworkTestInputs.datasetBytes(of: file),
                           "\(encoding.name): dataset bytes differ")
            let record = delegate.received.last
            XCTAssertEqual(record?.status, .success, encoding.name)
            XCTAssertEqual(record?.command.transferSyntaxUID, encoding.transferSyntaxUID)
            XCTAssertEqual(record?.dataset?.sopInstanceUID, uid)
            XCTAssertEqual(record?.dataset?.sopClassUID, NetworkTestInputs.ultrasoundImageStorage)
            let study = try NetworkTestInputs.value(of: "0020,000d", in: file)
            XCTAssertFalse(study.isEmpty)
            XCTAssertEqual(record?.dataset?.studyInstanceUID, study, "\(encoding.name): study UID read back with the SOP UIDs")
            try FileManager.default.removeItem(at: received)
        }
    }

    /// The SCP offers DCMTK's largest PDU, so an image comes in a few large PDUs; it still
    /// arrives whole.
    func testAModalityMaySendPDUsOf128KB() throws {
        let port = try startSCP()
        let file = try NetworkTestInputs.ultrasoundImage(in: directory)
        let result = try ExternalTool.run(try ExternalTool.dcmtk("storescu"),
                                          ["-d", "-aet", "MODALITY", "-aec", "WECARE", "127.0.0.1", "\(port)", file.path])
        XCTAssertEqual(result.status, 0, result.output)
        // storescu prints the A-ASSOCIATE-AC's value last, padded with spaces.
        let offered = result.output.components(separatedBy: "\n").last { $0.contains("Their Max PDU Receive Size:") }
        XCTAssertEqual(offered?.split(separator: " ").last, "131072", result.output)
        let received = delegate.directory.appendingPathComponent("\(try NetworkTestInputs.sopInstanceUID(of: file)).dcm")
        XCTAssertEqual(try NetworkTestInputs.datasetBytes(of: received), try NetworkTestInputs.datasetBytes(of: file))
    }

    func testNonUltrasoundObjectsAreRefusedAtNegotiation() throws {
        let port = try startSCP()
        let source = try NetworkTestInputs.ultrasoundImage(in: directory)
        let ct = try NetworkTestInputs.relabel(source, sopClassUID: "1.2.840.10008.5.1.4.1.1.2", name: "ct", in: directory)
        let sr = try NetworkTestInputs.relabel(source, sopClassUID: "1.2.840.10008.5.1.4.1.1.88.22", name: "sr", in: directory)
        let storescu = try ExternalTool.dcmtk("storescu")
        for file in [ct, sr] {
            let result = try ExternalTool.run(storescu, ["-aet", "MODALITY", "-aec", "WECARE", "127.0.0.1", "\(port)", file.path])
            XCTAssertNotEqual(result.status, 0, result.output)
            XCTAssertTrue(result.output.lowercased().contains("no presentation context")
                || result.output.lowercased().contains("no acceptable presentation context"), result.output)
        }
        XCTAssertEqual(delegate.storeRequestCount, 0, "nothing may reach the delegate")
        XCTAssertTrue(delegate.received.allSatisfy { $0.status != .success })
        XCTAssertTrue(inboxFiles.isEmpty)
        // storescu proposes every storage class, so those associations were acknowledged (US
        // accepted) and then aborted by storescu.
        var deadline = Date().addingTimeInterval(10)
        while delegate.ended.count < 2 && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(delegate.ended.map(\.end), [.aborted, .aborted])
        // Proposing only the file's own class (-R), every context is refused and so is the
        // association. The delegate had accepted it (AE titles fine): it still ends once, so a
        // gateway counting open associations gets back to zero.
        let refused = try ExternalTool.run(storescu, ["-R", "-aet", "MODALITY", "-aec", "WECARE", "127.0.0.1", "\(port)", ct.path])
        XCTAssertNotEqual(refused.status, 0, refused.output)
        deadline = Date().addingTimeInterval(10)
        while delegate.ended.count < 3 && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(delegate.requests.count, 3)
        XCTAssertEqual(delegate.ended.count, 3)
        XCTAssertEqual(delegate.ended.last?.end, .noAcceptablePresentationContext, refused.output)
        XCTAssertEqual(delegate.storeRequestCount, 0)
    }

    func testDiscardAnswersOutOfResourcesWithItsCommentAndWritesNothing() throws {
        delegate.discardStatus = .outOfResources
        delegate.discardComment = "disk below the gateway's floor; retry later"
        let port = try startSCP()
        let file = try NetworkTestInputs.ultrasoundImage(in: directory)
        let result = try ExternalTool.run(try ExternalTool.dcmtk("storescu"),
                                          ["-d", "-aet", "MODALITY", "-aec", "WECARE", "127.0.0.1", "\(port)", file.path])
        XCTAssertTrue(result.output.contains("OutOfResources") || result.output.lowercased().contains("0xa700"), result.output)
        // The Error Comment (0000,0902) travels in the response's command set: storescu shows it
        // as the status detail.
        XCTAssertTrue(result.output.contains("(0000,0902)") && result.output.contains("disk below the gateway's floor; retry later"),
                      result.output)
        let peer = DICOMPeer(aeTitle: "WECARE", host: "127.0.0.1", port: port, callingAETitle: "MODALITY")
        XCTAssertEqual(try StorageSCU.send([file], to: peer).first?.status, .outOfResources)
        XCTAssertEqual(delegate.storeRequestCount, 2)
        XCTAssertTrue(delegate.received.isEmpty, "storeReceived is only for received datasets")
        XCTAssertTrue(inboxFiles.isEmpty)
    }

    func testUnwritableDestinationIsReportedToTheDelegateAndAnswered() throws {
        let missing = directory.appendingPathComponent("no-such-directory")
        delegate = ExampleStorageDelegate(aeTitle: "WECARE", knownCallingAETitles: ["MODALITY"], directory: missing)
        let port = try startSCP()
        let file = try NetworkTestInputs.ultrasoundImage(in: directory)
        let peer = DICOMPeer(aeTitle: "WECARE", host: "127.0.0.1", port: port, callingAETitle: "MODALITY")
        // The association survives: the dataset is drained and the delegate's status answered.
        let outcomes = try StorageSCU.send([file, file], to: peer)
        XCTAssertEqual(outcomes.map(\.status), [.outOfResources, .outOfResources])
        XCTAssertEqual(delegate.received.count, 2)
        XCTAssertNil(delegate.received.first?.dataset)
        XCTAssertNotNil(delegate.received.first?.command.affectedSOPInstanceUID)
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing.path))
    }

    func testAssociationBeyondTheLimitIsRefusedTransient() throws {
        delegate.holdStores = true
        let port = try startSCP(maxAssociations: 2)
        let file = try NetworkTestInputs.ultrasoundImage(in: directory)
        let storescu = try ExternalTool.dcmtk("storescu")
        // Two modalities each hold an association open: their stores wait in the delegate.
        let holders = try (0..<2).map { index in
            let own = try NetworkTestInputs.relabel(file, sopClassUID: NetworkTestInputs.ultrasoundImageStorage,
                                                    name: "holder\(index)", in: directory)
            return try ExternalTool.Background(storescu, ["-aet", "MODALITY", "-aec", "WECARE", "127.0.0.1", "\(port)", own.path],
                                        log: directory.appendingPathComponent("holder\(index).log"))
        }
        defer { holders.forEach { $0.stop() } }
        for _ in 0..<2 { XCTAssertEqual(delegate.storeArrived.wait(timeout: .now() + 30), .success) }
        let third = try echoscu(port: port)
        XCTAssertNotEqual(third.status, 0)
        XCTAssertTrue(third.output.contains("Local Limit Exceeded"), third.output)
        XCTAssertEqual(delegate.connectionFailedSignal.wait(timeout: .now() + 15), .success)
        XCTAssertEqual(delegate.failures.map(\.reason), [.associationLimit], "the refusal is reported once")
        for _ in 0..<2 { delegate.releaseStores.signal() }
        for holder in holders {
            let result = holder.wait()
            XCTAssertEqual(result.status, 0, result.output)
        }
        // Once they are done, a new association is served again.
        let deadline = Date().addingTimeInterval(10)
        while delegate.ended.count < 2 && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(try echoscu(port: port).status, 0)
    }

    func testConcurrentAssociationsUpToTheLimitAreAllServed() throws {
        let port = try startSCP(maxAssociations: 4)
        let source = try NetworkTestInputs.ultrasoundImage(in: directory)
        let storescu = try ExternalTool.dcmtk("storescu")
        let senders = try (0..<4).map { index in
            let own = try NetworkTestInputs.relabel(source, sopClassUID: NetworkTestInputs.ultrasoundImageStorage,
                                                    name: "concurrent\(index)", in: directory)
            return try ExternalTool.Background(storescu, ["-aet", "MODALITY", "-aec", "WECARE", "127.0.0.1", "\(port)", own.path, own.path],
                                               log: directory.appendingPathComponent("sender\(index).log"))
        }
        for sender in senders {
            let result = sender.wait()
            XCTAssertEqual(result.status, 0, result.output)
        }
        XCTAssertEqual(delegate.received.count, 8)
        XCTAssertTrue(delegate.received.allSatisfy { $0.status == .success })
        XCTAssertEqual(Set(delegate.received.map(\.command.associationID)).count, 4, "one ID per association")
        XCTAssertEqual(inboxFiles.count, 4)
    }

    func testStartAndStopRepeatedly() throws {
        let configuration = StorageSCPConfiguration(aeTitle: "WECARE", port: 0, maxAssociations: 2)
        for _ in 0..<10 {
            let scp = try StorageSCP(configuration: configuration, delegate: delegate)
            try scp.start()
            XCTAssertEqual(try echoscu(port: scp.boundPort).status, 0)
            scp.stop()
            scp.stop() // idempotent
            XCTAssertNotEqual(try echoscu(port: scp.boundPort).status, 0, "stopped SCP must not answer")
        }
        let scp = try StorageSCP(configuration: configuration, delegate: delegate)
        for _ in 0..<3 {
            try scp.start()
            XCTAssertEqual(try echoscu(port: scp.boundPort).status, 0)
            scp.stop()
        }
    }

    func testPortInUseThrowsCannotListen() throws {
        let port = try startSCP()
        let second = try StorageSCP(configuration: StorageSCPConfiguration(aeTitle: "WECARE", port: port), delegate: delegate)
        XCTAssertThrowsError(try second.start()) { error in
            guard case DICOMNetworkError.cannotListen = error else { return XCTFail("\(error)") }
        }
    }
}
