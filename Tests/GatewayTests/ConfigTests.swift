import XCTest
@testable import Gateway

final class ConfigTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try Tools.temporaryDirectory("config") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// The problems for a config text, as `line: message` pairs.
    func problems(_ text: String) throws -> [ConfigProblem] {
        let file = dir.appendingPathComponent("gateway.toml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        do {
            _ = try ConfigurationLoader.load(file)
            XCTFail("expected problems for:\n\(text)")
            return []
        } catch let error as ConfigurationError {
            for p in error.problems { XCTAssertEqual(p.file, file.path) }
            return error.problems
        }
    }

    static let valid = """
        [gateway]
        ae_title = "WECARE"
        port = 11112
        data_dir = "data"

        [[modality]]
        ae_title = "US_ROOM1"
        host = "127.0.0.1"

        [[destination]]
        name = "archive"
        type = "folder"
        outputs = ["seg", "sr"]

        [[destination]]
        name = "pacs"
        type = "dicom"
        ae_title = "PACS"
        host = "127.0.0.1"
        port = 4242
        outputs = ["seg", "sr", "pr"]
        """

    func testShippedConfigurationIsValidAndRunsAsIs() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let shipped = repo.appendingPathComponent("conf/gateway.toml")
        // Copy it so data_dir (../var) lands in the temporary folder, not the repository.
        let conf = dir.appendingPathComponent("conf")
        try FileManager.default.createDirectory(at: conf, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: shipped, to: conf.appendingPathComponent("gateway.toml"))
        let c = try ConfigurationLoader.load(conf.appendingPathComponent("gateway.toml"))
        XCTAssertEqual(c.listener.aeTitle, "WECARE")
        XCTAssertFalse(c.listener.acceptUnknownModalities)
        XCTAssertEqual(c.modalities, [ModalitySettings(aeTitle: "US_ROOM1", host: "127.0.0.1")])
        XCTAssertEqual(c.dataDirectory.path, dir.appendingPathComponent("var").standardizedFileURL.path)
        guard case .folder(let path) = c.destinations.first?.kind else { return XCTFail("archive should be a folder destination") }
        XCTAssertEqual(path.path, c.dataDirectory.appendingPathComponent("outbox/archive").path)
        XCTAssertEqual(c.analysis.model.lastPathComponent, "busi_unet.onnx")
        XCTAssertTrue(c.summary.contains("archive: folder"))
    }

    func testValidConfigurationResolvesEverything() throws {
        let file = dir.appendingPathComponent("ok.toml")
        try Self.valid.write(to: file, atomically: true, encoding: .utf8)
        let c = try ConfigurationLoader.load(file)
        XCTAssertEqual(c.destinations.map(\.name), ["archive", "pacs"])
        XCTAssertTrue(c.destinations[0].wants(.json), "folder destinations always get result.json")
        XCTAssertFalse(c.destinations[1].wants(.json))
        guard case .dicom(let pacs) = c.destinations[1].kind else { return XCTFail() }
        XCTAssertEqual(pacs.callingAETitle, "WECARE")
        XCTAssertEqual(pacs.port, 4242)
    }

    func testUnknownKeySuggestsClosest() throws {
        let p = try problems(Self.valid.replacingOccurrences(of: "port = 11112", with: "prot = 11112"))
        let unknown = try XCTUnwrap(p.first { $0.message.contains("unknown key 'prot'") })
        XCTAssertEqual(unknown.line, 3)
        XCTAssertTrue(unknown.message.contains("did you mean 'port'"), unknown.message)
        XCTAssertTrue(p.contains { $0.message.contains("missing 'port'") })
    }

    func testDuplicateAETitle() throws {
        let text = Self.valid.replacingOccurrences(of: "[[destination]]\nname = \"archive\"",
                                                   with: "[[modality]]\nae_title = \"US_ROOM1\"\n\n[[destination]]\nname = \"archive\"")
        let p = try problems(text)
        let dup = try XCTUnwrap(p.first { $0.message.contains("duplicate AE title") })
        XCTAssertEqual(dup.line, 11, "line of the second modality's ae_title")
    }

    func testBadPort() throws {
        for bad in ["70000", "-1", "\"11112\""] {
            let p = try problems(Self.valid.replacingOccurrences(of: "port = 11112", with: "port = \(bad)"))
            XCTAssertEqual(p.count, 1, "\(p)")
            XCTAssertEqual(p.first?.line, 3)
            XCTAssertTrue(p.first?.message.contains("gateway.port") == true, "\(p)")
        }
        let p = try problems(Self.valid.replacingOccurrences(of: "port = 4242", with: "port = 0"))
        XCTAssertEqual(p.first?.line, 20)
    }

    func testDataDirNotWritable() throws {
        let p = try problems(Self.valid.replacingOccurrences(of: "data_dir = \"data\"", with: "data_dir = \"/proc/wecare\""))
        XCTAssertEqual(p.first?.line, 4)
        XCTAssertTrue(p.first?.message.contains("cannot be created or written") == true, "\(p)")
    }

    func testMissingDestinationFields() throws {
        let text = Self.valid.replacingOccurrences(of: "ae_title = \"PACS\"\nhost = \"127.0.0.1\"\n", with: "")
        let p = try problems(text)
        XCTAssertEqual(p.filter { $0.message.contains("missing 'ae_title'") }.first?.line, 15)
        XCTAssertEqual(p.filter { $0.message.contains("missing 'host'") }.first?.line, 15)
    }

    func testUnknownOutputAndBadType() throws {
        var text = Self.valid.replacingOccurrences(of: "outputs = [\"seg\", \"sr\"]", with: "outputs = [\"seg\", \"srr\"]")
        text = text.replacingOccurrences(of: "type = \"dicom\"", with: "type = \"dicon\"")
        let p = try problems(text)
        let output = try XCTUnwrap(p.first { $0.message.contains("unknown output 'srr'") })
        XCTAssertEqual(output.line, 13)
        XCTAssertTrue(output.message.contains("\"sr\""), output.message)
        let type = try XCTUnwrap(p.first { $0.message.contains("unknown destination type 'dicon'") })
        XCTAssertEqual(type.line, 17)
        XCTAssertTrue(type.message.contains("did you mean \"dicom\""), type.message)
    }

    /// The PACS destination's settings from a configuration that loads.
    func pacs(_ text: String) throws -> DICOMDestinationSettings {
        let file = dir.appendingPathComponent("gateway.toml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let kind = try XCTUnwrap(try ConfigurationLoader.load(file).destinations.last).kind
        guard case .dicom(let peer) = kind else { return try XCTUnwrap(nil, "pacs is dicom") }
        return peer
    }

    /// A `[[destination]]` key for DICOM peers only: a value out of its range is refused at its
    /// line (22), and so is the key on the folder destination (line 13).
    func assertDICOMOnlyKey(_ key: String, outOfRange: Int, onFolder value: Int, line: UInt = #line) throws {
        let bad = try problems(Self.valid + "\n\(key) = \(outOfRange)\n")
        XCTAssertEqual(bad.first?.line, 22, line: line)
        XCTAssertTrue(bad.first?.message.contains(key) == true, "\(bad)", line: line)
        let onFolder = try problems(Self.valid.replacingOccurrences(of: "type = \"folder\"", with: "type = \"folder\"\n\(key) = \(value)"))
        XCTAssertEqual(onFolder.first?.line, 13, line: line)
        XCTAssertTrue(onFolder.first?.message.contains("only applies to type = \"dicom\"") == true, "\(onFolder)", line: line)
    }

    func testPACSAssociationsDefaultToTwoAndAreChecked() throws {
        XCTAssertEqual(try pacs(Self.valid).maxAssociations, 2)
        let file = dir.appendingPathComponent("gateway.toml") // as pacs(_:) just wrote it
        XCTAssertEqual(try ConfigurationLoader.load(file).analysis.workers, ProcessInfo.processInfo.activeProcessorCount,
                       "one worker per core by default")
        try assertDICOMOnlyKey("max_associations", outOfRange: 40, onFolder: 2)
    }

    func testKeptAssociationsDefaultToTenSecondsAndAreChecked() throws {
        XCTAssertEqual(try pacs(Self.valid).keepAssociationSeconds, 10)
        XCTAssertEqual(try pacs(Self.valid + "\nkeep_association_seconds = 0\n").keepAssociationSeconds, 0)
        try assertDICOMOnlyKey("keep_association_seconds", outOfRange: -1, onFolder: 5)
    }

    func testImageSizeCeilingDefaultsToThreeHundredMillionSamplesAndIsChecked() throws {
        let file = dir.appendingPathComponent("gateway.toml")
        try Self.valid.write(to: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ConfigurationLoader.load(file).analysis.maxImageSamples, 300_000_000)
        try (Self.valid + "\n[analysis]\nmax_image_megasamples = 50\n").write(to: file, atomically: true, encoding: .utf8)
        let c = try ConfigurationLoader.load(file)
        XCTAssertEqual(c.analysis.maxImageSamples, 50_000_000)
        XCTAssertTrue(c.summary.contains("images up to 50 million samples"), c.summary)
        for bad in ["0", "20001", "\"big\""] {
            let p = try problems(Self.valid + "\n[analysis]\nmax_image_megasamples = \(bad)\n")
            XCTAssertEqual(p.count, 1, "\(bad): \(p)")
            XCTAssertEqual(p.first?.line, Self.valid.split(separator: "\n", omittingEmptySubsequences: false).count + 2, "\(bad)")
            XCTAssertTrue(p.first?.message.contains("max_image_megasamples") == true, p.first?.message ?? "")
        }
    }

    func testSVGCannotGoToAPACS() throws {
        let p = try problems(Self.valid.replacingOccurrences(of: "outputs = [\"seg\", \"sr\", \"pr\"]", with: "outputs = [\"seg\", \"svg\"]"))
        XCTAssertEqual(p.first?.line, 21)
        XCTAssertTrue(p.first?.message.contains("svg") == true)
    }

    func testEveryProblemIsReportedAtOnce() throws {
        var text = Self.valid.replacingOccurrences(of: "port = 11112", with: "port = 99999")
        text = text.replacingOccurrences(of: "host = \"127.0.0.1\"\n\n[[destination]]", with: "hots = \"127.0.0.1\"\n\n[[destination]]")
        text = text.replacingOccurrences(of: "type = \"folder\"", with: "type = \"ftp\"")
        text += "\n[analysis]\nworkers = 0\n"
        let p = try problems(text)
        XCTAssertGreaterThanOrEqual(p.count, 4, "\(p)")
        XCTAssertEqual(p.map(\.line), p.map(\.line).sorted { ($0 ?? 0) < ($1 ?? 0) }, "sorted by line")
        XCTAssertTrue(p.allSatisfy { $0.line != nil }, "\(p)")
        XCTAssertTrue(p.contains { $0.message.contains("'hots'") && $0.message.contains("'host'") })
    }

    func testTOMLSyntaxErrorHasItsLine() throws {
        let p = try problems(Self.valid.replacingOccurrences(of: "outputs = [\"seg\", \"sr\"]", with: "outputs = [\"seg\", \"sr\""))
        XCTAssertEqual(p.count, 1)
        XCTAssertTrue(p[0].message.contains("TOML syntax error"), p[0].message)
        XCTAssertNotNil(p[0].line)
        XCTAssertTrue((13...15).contains(p[0].line ?? 0), "line \(String(describing: p[0].line))")
        XCTAssertTrue(p[0].description.hasPrefix("\(dir.path)/gateway.toml:\(p[0].line!): "))
    }

    func testSourceMapFollowsArraysOfTablesAndSubtables() {
        let map = TOMLSourceMap(source: """
            [gateway]
            ae_title = "A" # comment with = sign
            list = [
              "x",
              "y",
            ]
            [[destination]]
            name = "one"
            [[destination]]
            name = "two"
            [destination.tls]
            certificate = "c.pem"
            "quoted key" = 1
            """)
        XCTAssertEqual(map.line(of: "gateway.ae_title"), 2)
        XCTAssertEqual(map.line(of: "gateway.list"), 3)
        XCTAssertEqual(map.line(of: "destination[0].name"), 8)
        XCTAssertEqual(map.line(of: "destination[1].name"), 10)
        XCTAssertEqual(map.line(of: "destination[1].tls.certificate"), 12)
        XCTAssertEqual(map.line(of: "destination[1].tls.quoted key"), 13)
        XCTAssertEqual(map.line(of: "destination[1].missing"), 9, "falls back to the table header")
    }

    func testCheckConfigCommandPrintsFileLineAndFails() throws {
        let wecare = try WeCareBinary.url()
        let bad = dir.appendingPathComponent("bad.toml")
        try Self.valid.replacingOccurrences(of: "port = 11112", with: "port = 123456").write(to: bad, atomically: true, encoding: .utf8)
        let r = try Tools.run(wecare.path, ["check-config", "--config", bad.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("\(bad.path):3: gateway.port: 123456 is out of range"), r.output)

        let good = dir.appendingPathComponent("good.toml")
        try Self.valid.write(to: good, atomically: true, encoding: .utf8)
        let ok = try Tools.run(wecare.path, ["check-config", "--config", good.path])
        XCTAssertEqual(ok.status, 0, ok.output)
        XCTAssertTrue(ok.output.contains("pacs: DICOM PACS@127.0.0.1:4242"), ok.output)
    }
}
