import XCTest
@testable import Gateway

/// The DICOM face of the gateway with real peers (echoscu, storescu, pynetdicom) on loopback.
final class ReceiveTests: XCTestCase {
    var dir: URL!
    var service: GatewayService?

    override func setUpWithError() throws { dir = try Tools.temporaryDirectory("receive") }
    override func tearDown() async throws {
        await service?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    func start(_ configure: (inout TestConfig) -> Void = { _ in }, processor: InstanceProcessor? = nil) async throws -> GatewayService {
        var config = TestConfig(dir: dir)
        config.analysisEnabled = processor != nil
        configure(&config)
        let s = try await GatewayService.startForTest(config, processor: processor)
        service = s
        return s
    }

    func testEchoFromKnownModalityUnknownAEAndWrongCalledAE() async throws {
        let s = try await start()
        let ok = try Peers.echo(port: s.dicomPort)
        XCTAssertEqual(ok.status, 0, ok.output)

        let stranger = try Peers.echo(port: s.dicomPort, calling: "STRANGER")
        XCTAssertNotEqual(stranger.status, 0)
        XCTAssertTrue(stranger.output.lowercased().contains("calling ae title not recogni"), stranger.output)

        let wrong = try Peers.echo(port: s.dicomPort, called: "NOT_WECARE")
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.output.lowercased().contains("called ae title not recogni"), wrong.output)

        let metrics = s.metrics.render()
        XCTAssertTrue(metrics.contains(#"wecare_associations_rejected_total{reason="calling_ae"} 1"#), metrics)
        XCTAssertTrue(metrics.contains(#"wecare_associations_rejected_total{reason="called_ae"} 1"#), metrics)
    }

    func testAcceptUnknownModalitiesLetsAnyCallingAEIn() async throws {
        let s = try await start { $0.acceptUnknown = true }
        let r = try Peers.echo(port: s.dicomPort, calling: "ANYONE")
        XCTAssertEqual(r.status, 0, r.output)
    }

    func testEveryAcceptedEncodingIsSpooledByteIdenticalWithItsLedgerRow() async throws {
        var files: [URL] = []
        for e in TestImages.encodings { files += try TestImages.make(1, encoding: e.name, in: dir) }
        let s = try await start()
        // Each file with its own transfer syntax proposed: the gateway must take it as it comes.
        for (file, encoding) in zip(files, TestImages.encodings) {
            let r = try Peers.store([file], port: s.dicomPort, extra: ["-R", encoding.proposal])
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertEqual(Peers.acknowledged(in: r.output), [file.path], "\(encoding.name): \(r.output)")
        }
        for (file, encoding) in zip(files, TestImages.encodings) {
            let uid = try TestImages.sopInstanceUID(file)
            let row = try XCTUnwrap(try s.ledger.instance(sopInstanceUID: uid), "no ledger row for \(encoding.name)")
            XCTAssertEqual(row.transferSyntaxUID, encoding.uid, encoding.name)
            XCTAssertEqual(row.callingAETitle, "US_ROOM1")
            XCTAssertNotNil(row.studyInstanceUID, "study UID read from the dataset (\(encoding.name))")
            let spooled = s.spool.url(relativePath: row.spoolPath)
            XCTAssertFalse(spooled.path.contains(uid), "spool names must not reveal UIDs")
            XCTAssertEqual(try TestImages.datasetDump(spooled), try TestImages.datasetDump(file), "dataset differs for \(encoding.name)")
        }
        let counts = try s.ledger.counts()
        XCTAssertEqual(counts.jobs[.received], files.count, "receive-only: every job waits as received")
        let tmp = try FileManager.default.contentsOfDirectory(atPath: s.spool.temporaryDirectory.path)
        XCTAssertEqual(tmp, [], "nothing left in spool/tmp")
    }

    func testStructuredReportIsRefusedAtNegotiation() async throws {
        let sr = try TestImages.make(1, in: dir)[0]
        let r0 = try Tools.run("dcmodify", ["-nb", "-m", "(0008,0016)=1.2.840.10008.5.1.4.1.1.88.11", sr.path])
        XCTAssertEqual(r0.status, 0, r0.output)
        let s = try await start()
        let r = try Peers.store([sr], port: s.dicomPort)
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(Peers.acknowledged(in: r.output).isEmpty, r.output)
        XCTAssertTrue(r.output.lowercased().contains("presentation context"), r.output)
        XCTAssertEqual(try s.ledger.counts().jobs.values.reduce(0, +), 0)
        // Proposing only the SR class (-R), every context is refused and so is the association.
        // The AE titles were fine, so it was counted as open: it must be counted as closed again.
        let only = try Peers.store([sr], port: s.dicomPort, extra: ["-R"])
        XCTAssertNotEqual(only.status, 0, only.output)
        let closed = await Tools.eventually(timeout: 10) { Self.gauge("wecare_associations_active", in: s.metrics.render()) == 0 }
        XCTAssertTrue(closed, s.metrics.render())
        XCTAssertTrue(s.metrics.render().contains(#"wecare_associations_rejected_total{reason="no_presentation_context"} 1"#),
                      s.metrics.render())
    }

    /// A TCP connect and close (a port probe) is counted as such, not as a called-AE refusal.
    func testBareConnectionIsCountedAsSuchNotAsAnAERefusal() async throws {
        let s = try await start()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = s.dicomPort.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(connected, 0)
        close(fd)
        let line = #"wecare_connections_failed_total{reason="closed_before_request"} 1"#
        let counted = await Tools.eventually(timeout: 10) { s.metrics.render().contains(line) }
        XCTAssertTrue(counted, s.metrics.render())
        XCTAssertFalse(s.metrics.render().contains("wecare_associations_rejected_total"), s.metrics.render())
        XCTAssertEqual(Self.gauge("wecare_associations_active", in: s.metrics.render()) ?? 0, 0)
    }

    /// The value of an unlabelled metric in the Prometheus text.
    static func gauge(_ name: String, in text: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    func testTruncatedGarbageAndMismatchedDatasetsAreNotAcknowledged() async throws {
        let original = try TestImages.make(1, in: dir)[0]
        let bytes = try Data(contentsOf: original)
        // Truncated: the meta header and the first half of the dataset.
        let truncated = dir.appendingPathComponent("truncated.dcm")
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        // Garbage: a valid meta header followed by noise.
        let metaLength = Self.metaHeaderLength(bytes)
        let garbage = dir.appendingPathComponent("garbage.dcm")
        var noise = Data(bytes.prefix(metaLength))
        noise.append(Data((0..<4096).map { _ in UInt8.random(in: 0...255) }))
        try noise.write(to: garbage)
        // Mismatch: the command (from the meta header) names another SOP Instance UID than the
        // dataset: the meta header's copy of the UID gets another last digit (same length).
        let mismatched = dir.appendingPathComponent("mismatch.dcm")
        let uid = Array(try TestImages.sopInstanceUID(original).utf8)
        var patched = [UInt8](bytes)
        let at = try XCTUnwrap((132..<(metaLength - uid.count)).first { Array(patched[$0..<($0 + uid.count)]) == uid })
        patched[at + uid.count - 1] = patched[at + uid.count - 1] == UInt8(ascii: "1") ? UInt8(ascii: "2") : UInt8(ascii: "1")
        try Data(patched).write(to: mismatched)

        let s = try await start()
        for file in [truncated, garbage] {
            let result = try Peers.scu(["store-raw", "127.0.0.1", "\(s.dicomPort)", "US_ROOM1", "WECARE", file.path])
            let status = result["status"] as? Int
            XCTAssertNotEqual(status, 0, "\(file.lastPathComponent) must not be acknowledged: \(result)")
        }
        let mismatch = try Peers.scu(["store-raw", "127.0.0.1", "\(s.dicomPort)", "US_ROOM1", "WECARE", mismatched.path])
        XCTAssertEqual(mismatch["status"] as? Int, 0xA900, "\(mismatch)")
        XCTAssertEqual(try s.ledger.counts().jobs.values.reduce(0, +), 0, "nothing recorded")
        let clean = await Tools.eventually(timeout: 5) {
            ((try? FileManager.default.contentsOfDirectory(atPath: s.spool.temporaryDirectory.path)) ?? ["x"]).isEmpty
        }
        XCTAssertTrue(clean, "refused transfers leave nothing in spool/tmp")
    }

    func testDiskFloorAnswersA700AndWritesNothing() async throws {
        let files = try TestImages.make(1, in: dir)
        let s = try await start { $0.minFreeDiskMB = 1_000_000_000 }
        let r = try Peers.store(files, port: s.dicomPort)
        XCTAssertTrue(r.output.lowercased().replacingOccurrences(of: " ", with: "").contains("outofresources"), r.output)
        XCTAssertTrue(Peers.acknowledged(in: r.output).isEmpty, r.output)
        XCTAssertEqual(try s.ledger.counts().jobs.values.reduce(0, +), 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: s.spool.temporaryDirectory.path), [])
        XCTAssertFalse(s.readinessProblems().isEmpty, "not ready below the disk floor")
    }

    func testOneAssociationMoreThanAllowedIsRefused() async throws {
        let s = try await start { $0.maxAssociations = 2 }
        let result = try Peers.scu(["hold", "127.0.0.1", "\(s.dicomPort)", "US_ROOM1", "WECARE", "2"])
        XCTAssertEqual(result["opened"] as? Int, 2, "\(result)")
        XCTAssertEqual(result["extra_established"] as? Bool, false, "\(result)")
    }

    func testDuplicateInstanceIsAcknowledgedAndProcessedOnce() async throws {
        let file = try TestImages.make(1, in: dir)[0]
        let copy = dir.appendingPathComponent("copy.dcm")
        try FileManager.default.copyItem(at: file, to: copy)
        let processor = TestProcessor()
        let s = try await start(processor: processor)
        let first = try Peers.store([file], port: s.dicomPort)
        let second = try Peers.store([copy, file], port: s.dicomPort)
        XCTAssertEqual(Peers.acknowledged(in: first.output).count, 1, first.output)
        XCTAssertEqual(Peers.acknowledged(in: second.output).count, 2, second.output)
        let uid = try TestImages.sopInstanceUID(file)
        let ok148 = try await Tools.eventually { try s.ledger.counts().jobs[.analysed] == 1 }
        XCTAssertTrue(ok148)
        try await Task.sleep(nanoseconds: 300_000_000)
        XCTAssertEqual(processor.callCount(uid), 1)
        XCTAssertEqual(try s.ledger.counts().jobs.values.reduce(0, +), 1)
    }

    /// Bytes of the preamble, "DICM" and the group 0002 elements.
    static func metaHeaderLength(_ b: Data) -> Int {
        let bytes = [UInt8](b)
        // (0002,0000) UL group length: 132 + 12 + value.
        let value = Int(bytes[140]) | Int(bytes[141]) << 8 | Int(bytes[142]) << 16 | Int(bytes[143]) << 24
        return 144 + value
    }
}
