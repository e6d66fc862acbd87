import XCTest
@testable import Gateway

/// The whole product on loopback: DCMTK's storescu as the modality sends real encodings to
/// `wecare serve` running the shipped model; DCMTK's storescp as the PACS must receive a SEG, an
/// SR and a presentation state for every image with a lesion (an SR alone otherwise), all valid
/// by dciodvfy; the folder destination gets SVG and result.json; HTTP serves the same analysis.
final class EndToEndTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let busi = TestImages.busiImages

    func testModalityToPACSWithRealEncodings() throws {
        try Tools.require("storescu", "storescp", "dcmcjpeg", "dcmcrle", "dcmcjpls", "dciodvfy", "dcmdump")
        let benign = Self.busi.appendingPathComponent("benign_100.png")
        let malignant = Self.busi.appendingPathComponent("malignant_010.png")
        guard FileManager.default.fileExists(atPath: benign.path) else { throw XCTSkip("BUSI data not at \(Self.busi.path)") }
        let dir = try Tools.temporaryDirectory("e2e")
        defer { try? FileManager.default.removeItem(at: dir) }

        // Inputs: every accepted encoding and photometric the modality may send.
        let maker = Self.root.appendingPathComponent("Tests/ReportingTests/Support/make_us_dicom.py").path
        let paletteMaker = Self.root.appendingPathComponent("Tests/DICOMTests/ImageSupport/make_us.py").path
        func path(_ n: String) -> String { dir.appendingPathComponent(n).path }
        try run("python3", [maker, benign.path, path("mono.dcm"), "--region", "0", "0", "300", "400", "0.01"])
        try run("python3", [maker, malignant.path, path("rgb.dcm"), "--rgb"])
        try run("python3", [maker, malignant.path, path("cine.dcm"), "--frames", "2"])
        try run("python3", [paletteMaker, "image", "--out", path("palette.dcm"), "--expected", path("palette.raw"),
                            "--png", benign.path, "--rows", "400", "--cols", "320", "--photometric", "PALETTE"])
        try run("dcmcjpeg", [path("mono.dcm"), path("jpeg.dcm")])                      // JPEG lossless SV1 (default)
        try run("dcmcjpeg", ["+eb", path("rgb.dcm"), path("jpeg-baseline.dcm")])        // JPEG baseline, YBR_FULL_422
        try run("dcmcrle", [path("mono.dcm"), path("rle.dcm")])
        try run("dcmcjpls", [path("mono.dcm"), path("jpls.dcm")])
        // Each file a distinct instance (the compressed copies share the source's UIDs).
        let sends = ["mono", "jpeg", "jpeg-baseline", "rle", "jpls", "palette", "cine"].map { dir.appendingPathComponent("\($0).dcm") }
        try run("dcmodify", ["-nb", "-gin"] + sends.dropFirst().map(\.path))

        // The PACS.
        let pacsDir = dir.appendingPathComponent("pacs")
        try FileManager.default.createDirectory(at: pacsDir, withIntermediateDirectories: true)
        let pacsPort = Tools.freePort()
        let pacs = try Tools.start("storescp", ["-aet", "PACS", "-od", pacsDir.path, "\(pacsPort)"])
        defer { pacs.stop() }

        // The gateway with the shipped model, a folder and the PACS as destinations.
        var config = TestConfig(dir: dir)
        config.analysisEnabled = true
        config.destinations = """
            [[destination]]
            name = "archive"
            type = "folder"
            outputs = ["svg"]
            """ + TestConfig.pacsDestination(port: pacsPort, outputs: "\"seg\", \"sr\", \"pr\"")
        config.analysisKeys = "threads = 1"
        // No usable TMPDIR: received images, analysis, writers and HTTP bodies all stay under data_dir.
        let gateway = try ServedGateway.start(config, environment: ["TMPDIR": "/nonexistent-wecare-tmp"], logLevel: "warning")
        defer { gateway.stop() }
        let port = gateway.dicomPort, httpPort: Int? = gateway.httpPort

        // The modality proposes each compressed syntax as it is (no transcoding), one association each.
        let proposals: [(files: [String], flag: String?)] = [
            (["mono", "palette", "cine"], nil), (["jpeg"], "-xs"), (["jpeg-baseline"], "-xy"), (["rle"], "-xr"), (["jpls"], "-xt")]
        for p in proposals {
            let files = p.files.map { dir.appendingPathComponent("\($0).dcm") }
            let store = try Peers.store(files, port: port, extra: p.flag.map { [$0] } ?? [])
            XCTAssertEqual(Peers.acknowledged(in: store.output).count, files.count, store.output)
        }

        // Every image analysed: one result.json per image in the folder destination.
        let folder = config.dataDir.appendingPathComponent("outbox/archive")
        func results() -> [URL] {
            (FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)?.allObjects as? [URL] ?? [])
                .filter { $0.lastPathComponent == "result.json" }
        }
        // Objects of one job are delivered one after another: wait for the SVG beside each result too.
        func svgs() -> Int {
            results().filter { FileManager.default.fileExists(atPath: $0.deletingLastPathComponent().appendingPathComponent("lesion.svg").path) }.count
        }
        XCTAssertTrue(Tools.eventually(timeout: 600) { results().count == sends.count && svgs() == sends.count },
                      "\(results().count) of \(sends.count) analysed: \(gateway.output())")
        var expectedAtPACS = 0
        for r in results() {
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: r)) as? [String: Any])
            let lesions = (json["lesions"] as? [Any])?.count ?? 0
            expectedAtPACS += lesions > 0 ? 3 : 1
            XCTAssertEqual(FileManager.default.fileExists(atPath: r.deletingLastPathComponent().appendingPathComponent("lesion.svg").path),
                           true, "SVG beside \(r.path)")
        }
        XCTAssertGreaterThan(expectedAtPACS, sends.count, "at least one image must have a lesion")

        // The PACS has every object, each valid.
        func received() -> [URL] { (try? FileManager.default.contentsOfDirectory(at: pacsDir, includingPropertiesForKeys: nil)) ?? [] }
        XCTAssertTrue(Tools.eventually(timeout: 120) { received().count >= expectedAtPACS },
                      "PACS has \(received().count) of \(expectedAtPACS): \(gateway.output())")
        XCTAssertEqual(received().count, expectedAtPACS, "no duplicates at the PACS")
        var classes: [String: Int] = [:]
        for file in received() {
            let v = try Tools.run("dciodvfy", [file.path])
            XCTAssertFalse(v.output.split(separator: "\n").contains { $0.hasPrefix("Error") }, "\(file.lastPathComponent): \(v.output)")
            let sop = try Tools.run("dcmdump", ["-Un", "+P", "0008,0016", file.path]).output
            for (name, uid) in [("seg", "1.2.840.10008.5.1.4.1.1.66.4"), ("sr", "1.2.840.10008.5.1.4.1.1.88.34"),
                                ("gsps", "1.2.840.10008.5.1.4.1.1.11.1"), ("cps", "1.2.840.10008.5.1.4.1.1.11.2")]
            where sop.contains("=\(uid)") || sop.contains("[\(uid)]") { classes[name, default: 0] += 1 }
        }
        XCTAssertEqual(classes["sr"], sends.count, "one SR per image: \(classes)")
        XCTAssertGreaterThan(classes["cps", default: 0], 0, "colour sources get a Color Softcopy PS: \(classes)")

        // HTTP: the same model answers for non-DICOM clients.
        if let httpPort, httpPort > 0 {
            let r = try Tools.run("curl", ["-s", "-X", "POST", "--data-binary", "@\(benign.path)", "http://127.0.0.1:\(httpPort)/api/v1/classify"])
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any], r.output)
            let p = try XCTUnwrap(json["probabilities"] as? [String: Double])
            XCTAssertEqual(p.values.reduce(0, +), 1, accuracy: 1e-3)
            let predicted = try Tools.run("curl", ["-s", "-X", "POST", "--data-binary", "@\(benign.path)", "http://127.0.0.1:\(httpPort)/api/v1/predict"])
            let prediction = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(predicted.output.utf8)) as? [String: Any], predicted.output)
            let maskPNG = try XCTUnwrap((prediction["mask_png"] as? String).flatMap { Data(base64Encoded: $0) }, predicted.output)
            XCTAssertEqual(maskPNG.prefix(4), Data([0x89, 0x50, 0x4E, 0x47]), "mask_png is a PNG")
            XCTAssertTrue((prediction["svg"] as? String)?.hasPrefix("<svg") == true, predicted.output)
            let bad = try Tools.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "--data-binary", "not an image",
                                             "http://127.0.0.1:\(httpPort)/api/v1/predict"])
            XCTAssertEqual(bad.output, "415")
        }
    }

    private func run(_ tool: String, _ args: [String]) throws {
        let r = try Tools.run(tool, args)
        XCTAssertEqual(r.status, 0, "\(tool) \(args.joined(separator: " ")): \(r.output)")
        if r.status != 0 { throw XCTSkip("could not make the test input with \(tool)") }
    }
}
