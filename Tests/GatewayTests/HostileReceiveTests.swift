import DICOM
import Foundation
import XCTest
@testable import Gateway

/// Issue 23's hostile datasets sent to a running gateway, as a broken or hostile modality would:
/// each is refused with its status after it arrived, nothing of it is spooled or recorded, the
/// refusal is counted by reason, and the gateway goes on to accept a good image.
/// storescu sends what DCMTK can read; what it cannot (50,000 nested sequences would overflow
/// storescu's own parser, a cut file does not load, a CT dataset would be proposed as CT) goes
/// as raw bytes through pynetdicom, with the C-STORE command taken from the meta header.
final class HostileReceiveTests: XCTestCase {
    var dir: URL!
    var service: GatewayService?

    override func setUpWithError() throws { dir = try Tools.temporaryDirectory("hostile") }
    override func tearDown() async throws {
        await service?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    func start() async throws -> GatewayService {
        var config = TestConfig(dir: dir)
        config.analysisEnabled = false
        let s = try await GatewayService.startForTest(config, processor: nil)
        service = s
        return s
    }

    static var script: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Helpers/make_hostile.py")
    }

    /// A hostile variant of `source` made by make_hostile.py.
    func hostile(_ kind: String, from source: URL) throws -> URL {
        let out = dir.appendingPathComponent("\(kind)-\(UUID().uuidString.prefix(6)).dcm")
        let r = try Tools.run("python3", [Self.script.path, kind, source.path, out.path])
        guard r.status == 0 else { throw XCTSkip("make_hostile.py \(kind) failed (pydicom needed): \(r.output)") }
        return out
    }

    enum Sender { case storescu(proposal: String), raw }

    /// The C-STORE response status the gateway answered for `file`.
    func send(_ file: URL, _ sender: Sender, port: UInt16) throws -> UInt16? {
        try answer(file, sender, port: port).status
    }

    /// The C-STORE response's status and Error Comment (0000,0902), as the sender saw them.
    func answer(_ file: URL, _ sender: Sender, port: UInt16) throws -> (status: UInt16?, comment: String?) {
        switch sender {
        case .storescu(let proposal):
            let r = try Peers.store([file], port: port, extra: ["-d", "-R", proposal])
            // storescu -d dumps the response's status detail: "(0000,0902) LO [text] ..."
            let comment = r.output.split(separator: "\n").first { $0.contains("(0000,0902)") }.flatMap { line -> String? in
                guard let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]"), open < close else { return nil }
                return String(line[line.index(after: open)..<close])
            }
            return (Peers.statuses(in: r.output).first, comment)
        case .raw:
            let r = try Peers.scu(["store-raw", "127.0.0.1", "\(port)", "US_ROOM1", "WECARE", file.path])
            return ((r["status"] as? Int).map { UInt16($0) }, r["comment"] as? String)
        }
    }

    /// Files under spool/ other than its empty prefix folders (tmp/ included).
    func spooledFiles(_ s: GatewayService) -> [String] {
        let root = s.spool.root
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])?
            .compactMap { $0 as? URL }
            .filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true } ?? []
        return files.map { String($0.path.dropFirst(root.path.count)) }
    }

    func testHostileDatasetsAreRefusedWithTheirStatusAndNothingIsSpooled() async throws {
        let explicit = try TestImages.make(1, in: dir)[0]
        let jpeg = try TestImages.make(1, encoding: "jpeg-baseline", in: dir)[0]
        let rle = try TestImages.make(1, encoding: "rle", in: dir)[0]
        let cases: [(kind: String, source: URL, sender: Sender, status: UInt16, reason: String)] = [
            ("nested", explicit, .raw, 0xC000, "nesting_depth"),
            ("truncated", explicit, .raw, 0xC000, "truncated"),
            ("columns-7", explicit, .storescu(proposal: "-xe"), 0xC000, "pixel_data_length"),
            ("bits1", explicit, .storescu(proposal: "-xe"), 0xC000, "pixel_layout"),
            ("jpeg-sof", jpeg, .storescu(proposal: "-xy"), 0xC000, "compressed_header"),
            ("rle-offset", rle, .storescu(proposal: "-xr"), 0xC000, "rle_header"),
            ("ct-as-us", explicit, .raw, 0xA900, "uid_mismatch"),
            ("modality-ct", explicit, .storescu(proposal: "-xe"), 0xA900, "modality"),
        ]
        let files = try cases.map { try hostile($0.kind, from: $0.source) }
        let good = try TestImages.make(1, in: dir)[0]
        let s = try await start()

        for (c, file) in zip(cases, files) {
            let (status, comment) = try answer(file, c.sender, port: s.dicomPort)
            XCTAssertEqual(status, c.status, "\(c.kind): answered \(status.map { String($0, radix: 16) } ?? "nothing")")
            // The operator reads why in the Error Comment: the refusal's own words, at most 64 characters.
            let said = try XCTUnwrap(comment, "\(c.kind): an Error Comment with the refusal")
            XCTAssertTrue(said.hasPrefix("refused: ") && said.count <= 64 && !said.contains("refused: \(c.reason)"),
                          "\(c.kind): \(said)")
            XCTAssertTrue(s.metrics.render().contains(#"wecare_instances_refused_total{reason="\#(c.reason)"} 1"#),
                          "\(c.kind): counted as \(c.reason)\n\(s.metrics.render())")
            XCTAssertEqual(try s.ledger.counts().jobs.values.reduce(0, +), 0, "\(c.kind): nothing recorded")
            let clean = await Tools.eventually(timeout: 5) { self.spooledFiles(s).isEmpty }
            XCTAssertTrue(clean, "\(c.kind): nothing spooled, nothing left in tmp: \(spooledFiles(s))")
        }

        // Still up, and a good image right after is stored.
        XCTAssertEqual(try Peers.echo(port: s.dicomPort).status, 0)
        XCTAssertEqual(try send(good, .storescu(proposal: "-xe"), port: s.dicomPort), 0x0000)
        XCTAssertNotNil(try s.ledger.instance(sopInstanceUID: try TestImages.sopInstanceUID(good)))
        XCTAssertEqual(try s.ledger.counts().jobs[.received], 1)
    }

    func testTheSameUIDWithOtherContentIsRefusedAndTheFirstCopyKept() async throws {
        let first = try TestImages.make(1, in: dir)[0]
        let sameBytes = dir.appendingPathComponent("same.dcm")
        try FileManager.default.copyItem(at: first, to: sameBytes)
        let other = try hostile("other-pixels", from: first)
        let uid = try TestImages.sopInstanceUID(first)
        XCTAssertEqual(try TestImages.sopInstanceUID(other), uid)
        let s = try await start()

        XCTAssertEqual(try send(first, .storescu(proposal: "-xe"), port: s.dicomPort), 0x0000)
        let row = try XCTUnwrap(try s.ledger.instance(sopInstanceUID: uid))
        let hash = try XCTUnwrap(row.datasetSHA256, "the dataset hash is kept with the instance")
        XCTAssertEqual(hash.count, 64)
        let spooled = s.spool.url(relativePath: row.spoolPath)
        let firstBytes = try Data(contentsOf: spooled)

        // A true duplicate (the same dataset again) is acknowledged, as before.
        XCTAssertEqual(try send(sameBytes, .storescu(proposal: "-xe"), port: s.dicomPort), 0x0000)
        // Another dataset under the same UID is refused; the first copy stays as it was.
        let refusal = try answer(other, .storescu(proposal: "-xe"), port: s.dicomPort)
        XCTAssertEqual(refusal.status, 0xC000)
        XCTAssertEqual(refusal.comment, "refused: other content already stored under this UID")
        XCTAssertTrue(s.metrics.render().contains(#"wecare_instances_refused_total{reason="content_conflict"} 1"#), s.metrics.render())
        XCTAssertEqual(try Data(contentsOf: spooled), firstBytes, "the first copy's spool file is untouched")
        XCTAssertEqual(try s.ledger.instance(sopInstanceUID: uid)?.datasetSHA256, hash)
        XCTAssertEqual(try s.ledger.counts().jobs.values.reduce(0, +), 1)
        let clean = await Tools.eventually(timeout: 5) {
            ((try? FileManager.default.contentsOfDirectory(atPath: s.spool.temporaryDirectory.path)) ?? ["x"]).isEmpty
        }
        XCTAssertTrue(clean, "nothing left in spool/tmp")
    }
}
