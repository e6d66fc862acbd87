import DICOM
import XCTest

/// StorageSCU against DCMTK's storescp, and against our own SCP for rejections.
final class NetworkSCUTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try NetworkTestInputs.temporaryDirectory("scu")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A storescp PACS for one test: where it writes and the peer that reaches it.
    private struct PACS {
        let output: URL
        let peer: DICOMPeer
        let process: ExternalTool.Background

        /// The files it stored for an instance (storescp names them <modality prefix>.<SOP Instance UID>).
        func stored(_ sopInstanceUID: String) throws -> [URL] {
            try FileManager.default.contentsOfDirectory(atPath: output.path).filter { $0.hasSuffix(sopInstanceUID) }
                .map { output.appendingPathComponent($0) }
        }
    }

    /// storescp on a free port writing into `pacs/`, started with `options` and logging to
    /// storescp.log; returns once it answers C-ECHO. Stop it with `process.stop()`.
    private func startPACS(options: [String] = []) throws -> PACS {
        let port = try NetworkTestInputs.freePort()
        let output = directory.appendingPathComponent("pacs")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let process = try ExternalTool.Background(try ExternalTool.dcmtk("storescp"),
                                                  options + ["--aetitle", "PACS", "+xa", "-od", output.path, "\(port)"],
                                                  log: directory.appendingPathComponent("storescp.log"))
        let echo = DICOMPeer(aeTitle: "PACS", host: "127.0.0.1", port: port, callingAETitle: "WECARE", timeoutSeconds: 5)
        for _ in 0..<200 {
            if (try? StorageSCU.echo(echo)) != nil {
                return PACS(output: output, peer: DICOMPeer(aeTitle: "PACS", host: "127.0.0.1", port: port, callingAETitle: "WECARE",
                                                            timeoutSeconds: 10), process: process)
            }
            usleep(50_000)
        }
        process.stop()
        throw ExternalTool.Failure.failed("storescp", process.wait())
    }

    /// Associations storescp has accepted so far (its verbose log).
    private func associationsReceived() throws -> Int {
        let log = try String(contentsOf: directory.appendingPathComponent("storescp.log"), encoding: .utf8)
        return log.components(separatedBy: "Association Received").count - 1
    }

    /// Two images sent one at a time over one `StorageAssociation` to a verbose storescp
    /// started with `options`, with `between` run between the sends. Returns the associations
    /// storescp accepted for them and the files it stored.
    private func sendTwiceOverOneAssociation(storescpOptions options: [String], between: () -> Void) throws -> (associations: Int, stored: Int) {
        let pacs = try startPACS(options: ["-v"] + options)
        defer { pacs.process.stop() }
        let source = try NetworkTestInputs.ultrasoundImage(in: directory)
        let files = try (0..<2).map {
            try NetworkTestInputs.relabel(source, sopClassUID: NetworkTestInputs.ultrasoundImageStorage, name: "kept-\($0)", in: directory)
        }
        let before = try associationsReceived()
        let association = StorageAssociation(peer: pacs.peer)
        XCTAssertEqual(try association.send([files[0]]).first?.status, .success)
        XCTAssertTrue(association.isOpen)
        between()
        let second = try XCTUnwrap(try association.send([files[1]]).first)
        XCTAssertEqual(second.status, .success, second.error ?? "")
        XCTAssertTrue(association.isOpen)
        association.release()
        XCTAssertFalse(association.isOpen)
        return (try associationsReceived() - before, try FileManager.default.contentsOfDirectory(atPath: pacs.output.path).count)
    }

    /// A kept association carries the next batch: storescp negotiates once for two sends.
    func testAKeptAssociationCarriesTheNextBatch() throws {
        let r = try sendTwiceOverOneAssociation(storescpOptions: []) {}
        XCTAssertEqual(r.associations, 1)
        XCTAssertEqual(r.stored, 2)
    }

    /// A PACS that drops an idle association (storescp's socket timeout here) gets the next
    /// batch over a new one, and every file arrives.
    func testAnAssociationThePeerDroppedIsReopenedForTheNextBatch() throws {
        let r = try sendTwiceOverOneAssociation(storescpOptions: ["--socket-timeout", "1"]) {
            Thread.sleep(forTimeInterval: 2.5)  // storescp stops waiting on the idle socket and drops it
        }
        XCTAssertEqual(r.associations, 2)
        XCTAssertEqual(r.stored, 2)
    }

    /// A kept association negotiated for an uncompressed image lacks the next image's JPEG
    /// syntax: a new one proposes it, and the file arrives as encoded instead of converted.
    func testAKeptAssociationIsReplacedForAnEncodingItDidNotNegotiate() throws {
        let pacs = try startPACS(options: ["-v"])
        defer { pacs.process.stop() }
        let source = try NetworkTestInputs.ultrasoundImage(in: directory)
        let jpeg = try XCTUnwrap(NetworkTestInputs.encodings.first { $0.name == "jpeg-baseline" })
        let plain = try NetworkTestInputs.relabel(source, sopClassUID: NetworkTestInputs.ultrasoundImageStorage, name: "plain", in: directory)
        let compressed = try NetworkTestInputs.relabel(try NetworkTestInputs.encode(source, as: jpeg, in: directory),
                                                       sopClassUID: NetworkTestInputs.ultrasoundImageStorage, name: "jpeg", in: directory)
        let before = try associationsReceived()
        let association = StorageAssociation(peer: pacs.peer)
        defer { association.release() }
        XCTAssertEqual(try association.send([plain]).first?.status, .success)
        let outcome = try XCTUnwrap(try association.send([compressed]).first)
        XCTAssertEqual(outcome.status, .success, outcome.error ?? "")
        XCTAssertEqual(try associationsReceived() - before, 2)
        let uid = try XCTUnwrap(outcome.sopInstanceUID)
        let stored = try XCTUnwrap(try pacs.stored(uid).first)
        XCTAssertEqual(try NetworkTestInputs.transferSyntax(of: stored), jpeg.transferSyntaxUID)
    }

    func testSendDeliversFilesToStorescpUnchanged() throws {
        let pacs = try startPACS()
        defer { pacs.process.stop() }
        let source = try NetworkTestInputs.ultrasoundImage(in: directory)
        let picked = NetworkTestInputs.encodings.filter { ["explicit", "jpeg-baseline", "rle", "jpeg-ls-lossless"].contains($0.name) }
        var files: [URL] = []
        for encoding in picked {
            // Distinct instances, so storescp writes one file each.
            let encoded = try NetworkTestInputs.encode(source, as: encoding, in: directory)
            files.append(try NetworkTestInputs.relabel(encoded, sopClassUID: NetworkTestInputs.ultrasoundImageStorage,
                                                       name: "send-\(encoding.name)", in: directory))
        }
        let outcomes = try StorageSCU.send(files, to: pacs.peer)
        XCTAssertEqual(outcomes.count, files.count)
        for (outcome, encoding) in zip(outcomes, picked) {
            XCTAssertEqual(outcome.status, .success, "\(encoding.name): \(outcome.error ?? "")")
            XCTAssertNil(outcome.error)
            let uid = try XCTUnwrap(outcome.sopInstanceUID)
            XCTAssertEqual(uid, try NetworkTestInputs.sopInstanceUID(of: XCTUnwrap(outcome.file)))
            let stored = try pacs.stored(uid)
            XCTAssertEqual(stored.count, 1, encoding.name)
            if let received = stored.first {
                XCTAssertEqual(try NetworkTestInputs.transferSyntax(of: received), encoding.transferSyntaxUID, encoding.name)
                XCTAssertEqual(try NetworkTestInputs.datasetBytes(of: received),
                               try NetworkTestInputs.datasetBytes(of: XCTUnwrap(outcome.file)), encoding.name)
            }
        }
    }

    /// Part 10 files go out as their dataset bytes; a bare dataset (no File Meta Information)
    /// has no group length to find its start by, so DCMTK parses it and sends it: it arrives too.
    func testDatasetWithoutFileMetaInformationIsSentThroughTheParser() throws {
        let pacs = try startPACS()
        defer { pacs.process.stop() }
        let source = try NetworkTestInputs.ultrasoundImage(in: directory)
        let bare = directory.appendingPathComponent("bare.dcm")
        try ExternalTool.check(try ExternalTool.dcmtk("dcmconv"), ["-F", source.path, bare.path])
        XCTAssertThrowsError(try NetworkTestInputs.datasetBytes(of: bare), "no preamble, no DICM")
        let outcome = try XCTUnwrap(try StorageSCU.send([bare], to: pacs.peer).first)
        XCTAssertEqual(outcome.status, .success, outcome.error ?? "")
        let uid = try NetworkTestInputs.sopInstanceUID(of: source)
        let stored = try pacs.stored(uid)
        XCTAssertEqual(stored.count, 1)
        if let received = stored.first {
            XCTAssertEqual(try NetworkTestInputs.datasetBytes(of: received),
                           try NetworkTestInputs.datasetBytes(of: source))
        }
    }

    /// Objects in memory go out as the same files would: a Part 10 object's dataset bytes
    /// unchanged, a bare dataset through the parser, and a buffer that is no DICOM object gets
    /// its own error while the others are stored.
    func testObjectsInMemoryAreSentLikeTheirFiles() throws {
        let pacs = try startPACS()
        defer { pacs.process.stop() }
        let source = try NetworkTestInputs.ultrasoundImage(in: directory)
        let jpeg = try XCTUnwrap(NetworkTestInputs.encodings.first { $0.name == "jpeg-baseline" })
        let compressed = try NetworkTestInputs.relabel(try NetworkTestInputs.encode(source, as: jpeg, in: directory),
                                                       sopClassUID: NetworkTestInputs.ultrasoundImageStorage,
                                                       name: "memory-jpeg", in: directory)
        let bare = directory.appendingPathComponent("bare.dcm")
        try ExternalTool.check(try ExternalTool.dcmtk("dcmconv"), ["-F", source.path, bare.path])
        let files = [source, compressed, bare]
        let association = StorageAssociation(peer: pacs.peer)
        defer { association.release() }
        let outcomes = try association.send(try files.map { StoreSource.bytes(try Data(contentsOf: $0)) } + [.bytes(Data("hello".utf8))])
        XCTAssertEqual(outcomes.count, 4)
        for (outcome, file) in zip(outcomes, files) {
            XCTAssertEqual(outcome.status, .success, "\(file.lastPathComponent): \(outcome.error ?? "")")
            XCTAssertNil(outcome.file)
            let uid = try XCTUnwrap(outcome.sopInstanceUID)
            let stored = try pacs.stored(uid)
            XCTAssertEqual(stored.count, 1, file.lastPathComponent)
            if file != bare, let received = stored.first {
                XCTAssertEqual(try NetworkTestInputs.datasetBytes(of: received),
                               try NetworkTestInputs.datasetBytes(of: file), file.lastPathComponent)
            }
        }
        XCTAssertNil(outcomes[3].status)
        XCTAssertEqual(outcomes[3].error, "not a readable DICOM object with SOP Class and Instance UID")
    }

    func testUnreadableFileIsReportedPerFile() throws {
        let pacs = try startPACS()
        defer { pacs.process.stop() }
        let good = try NetworkTestInputs.ultrasoundImage(in: directory)
        let bad = directory.appendingPathComponent("not-dicom.dcm")
        try Data("hello".utf8).write(to: bad)
        let outcomes = try StorageSCU.send([bad, good], to: pacs.peer)
        XCTAssertNil(outcomes[0].status)
        XCTAssertNotNil(outcomes[0].error)
        XCTAssertEqual(outcomes[1].status, .success)
    }

    func testSendToClosedPortThrowsConnectionFailed() throws {
        let port = try NetworkTestInputs.freePort()
        let file = try NetworkTestInputs.ultrasoundImage(in: directory)
        let peer = DICOMPeer(aeTitle: "PACS", host: "127.0.0.1", port: port, callingAETitle: "WECARE", timeoutSeconds: 5)
        XCTAssertThrowsError(try StorageSCU.send([file], to: peer)) { error in
            guard case DICOMNetworkError.connectionFailed(let host, let errorPort, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(host, "127.0.0.1")
            XCTAssertEqual(errorPort, port)
            XCTAssertTrue("\(error)".contains("cannot connect"), "\(error)")
        }
        XCTAssertThrowsError(try StorageSCU.echo(peer))
        // Every network entry point turns Nagle's algorithm off for DCMTK's sockets (it reads
        // TCP_NODELAY), unless whoever started us chose otherwise.
        XCTAssertNotNil(getenv("TCP_NODELAY"), "set before the first DCMTK socket")
    }

    func testRejectionCarriesTheReason() throws {
        let inbox = directory.appendingPathComponent("inbox")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        let delegate = ExampleStorageDelegate(aeTitle: "WECARE", knownCallingAETitles: ["MODALITY"], directory: inbox)
        let scp = try StorageSCP(configuration: StorageSCPConfiguration(aeTitle: "WECARE", port: 0), delegate: delegate)
        try scp.start()
        defer { scp.stop() }
        var peer = DICOMPeer(aeTitle: "WECARE", host: "127.0.0.1", port: scp.boundPort, callingAETitle: "STRANGER")
        XCTAssertThrowsError(try StorageSCU.echo(peer)) { error in
            guard case DICOMNetworkError.associationRejected(let result, let source, let reason, _) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual([result, source, reason], [1, 1, 3])
        }
        peer.callingAETitle = "MODALITY"
        XCTAssertNoThrow(try StorageSCU.echo(peer))
        // Our own SCU to our own SCP: the image arrives and is answered 0000.
        let file = try NetworkTestInputs.ultrasoundImage(in: directory)
        let outcomes = try StorageSCU.send([file], to: peer)
        XCTAssertEqual(outcomes.first?.status, .success, outcomes.first?.error ?? "")
        XCTAssertEqual(delegate.received.count, 1)
    }
}
