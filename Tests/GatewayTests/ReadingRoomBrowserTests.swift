import Foundation
import XCTest

/// The reading room as a radiologist uses it: `wecare serve` with the shipped model and a
/// storescp PACS, two US images sent by storescu, accounts made with `wecare user add`, and a
/// real browser (Debian's chromium + chromium-driver, Selenium) driven by
/// `Helpers/reading_room_browser.py`, which also checks the PACS with highdicom and dciodvfy.
/// Screenshots (worklist, viewer, self-exam) go to `.build/reading-room-screenshots/` or
/// `$WECARE_SCREENSHOTS`.
final class ReadingRoomBrowserTests: XCTestCase {
    static let root = ServedGateway.repositoryRoot
    static let password = "correct-horse-battery"

    func testRadiologistCorrectsAndSignsInABrowser() throws {
        try Tools.require("storescu", "storescp", "dciodvfy", "dcmodify")
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") else {
            throw XCTSkip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
        }
        let busi = TestImages.busiImages
        let malignant = busi.appendingPathComponent("malignant_010.png"), benign = busi.appendingPathComponent("benign_100.png")
        guard FileManager.default.fileExists(atPath: malignant.path) else { throw XCTSkip("BUSI data not at \(busi.path)") }
        let dir = try Tools.temporaryDirectory("reading-room")
        defer { try? FileManager.default.removeItem(at: dir) }
        func path(_ n: String) -> String { dir.appendingPathComponent(n).path }

        // Two patients' images: colour with a calibrated region (sizes in mm), and monochrome.
        let maker = Self.root.appendingPathComponent("Tests/ReportingTests/Support/make_us_dicom.py").path
        try check(Tools.run("python3", [maker, malignant.path, path("a.dcm"), "--rgb", "--region", "0", "0", "461", "392", "0.01"]))
        try check(Tools.run("python3", [maker, benign.path, path("b.dcm"), "--region", "0", "0", "322", "472", "0.01"]))
        try check(Tools.run("dcmodify", ["-nb", "-m", "PatientName=Doe^Jane", "-m", "PatientID=WC-1001", path("a.dcm")]))
        try check(Tools.run("dcmodify", ["-nb", "-gin", "-gst", "-gse", "-m", "PatientName=Roe^Anna", "-m", "PatientID=WC-1002",
                                         "-m", "StudyDate=20261201", path("b.dcm")]))

        let pacsDir = dir.appendingPathComponent("pacs")
        try FileManager.default.createDirectory(at: pacsDir, withIntermediateDirectories: true)
        let pacsPort = Tools.freePort()
        let pacs = try Tools.start("storescp", ["-aet", "PACS", "-od", pacsDir.path, "\(pacsPort)"])
        defer { pacs.stop() }

        var config = TestConfig(dir: dir)
        config.destinations = TestConfig.pacsDestination(port: pacsPort, outputs: "\"seg\", \"sr\", \"pr\"")
        config.extra = "[review]\nenabled = true\nsession_hours = 1\norganization = \"WeCare test hospital\"\n"
        // Accounts first (the ledger is made on first use), as an admin would.
        let conf = try config.write()
        for (name, role) in [("dr.house", "radiologist"), ("ref.clinician", "viewer"), ("it.admin", "admin")] {
            let out = try addAccount(name, role: role, config: conf)
            XCTAssertTrue(out.contains("created"), out)
        }
        let gateway = try ServedGateway.start(config, analysis: "threads = 1")
        defer { gateway.stop() }
        let store = try Peers.store([URL(fileURLWithPath: path("a.dcm")), URL(fileURLWithPath: path("b.dcm"))], port: gateway.dicomPort)
        XCTAssertEqual(Peers.acknowledged(in: store.output).count, 2, store.output)

        let shots = ProcessInfo.processInfo.environment["WECARE_SCREENSHOTS"].map { URL(fileURLWithPath: $0) }
            ?? Self.root.appendingPathComponent(".build/reading-room-screenshots")
        let script = Self.root.appendingPathComponent("Tests/GatewayTests/Helpers/reading_room_browser.py").path
        let started = Date()
        let browser = try Tools.run("python3", [
            script, "--base", "http://127.0.0.1:\(gateway.httpPort)", "--pacs", pacsDir.path, "--shots", shots.path,
            "--radiologist", "dr.house:\(Self.password)", "--viewer", "ref.clinician:\(Self.password)",
            "--admin", "it.admin:\(Self.password)", "--images", "2",
        ], timeout: 900)
        print(browser.output)
        print("reading room browser run: \(Int(Date().timeIntervalSince(started))) s; screenshots in \(shots.path)")
        XCTAssertEqual(browser.status, 0, "browser test failed:\n\(browser.output)\n--- gateway ---\n\(gateway.process.output().suffix(4000))")
        // Patient data stays out of the logs.
        let log = gateway.process.output()
        XCTAssertFalse(log.contains("Doe") || log.contains("WC-1001"), "patient data in the gateway's log")
    }

    private func check(_ r: Tools.Result, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 0, r.output, file: file, line: line)
    }

    /// `wecare user add NAME --role ROLE --password-stdin`, the password on standard input.
    private func addAccount(_ name: String, role: String, config: URL) throws -> String {
        let process = Process()
        process.executableURL = try WeCareBinary.url()
        process.arguments = ["user", "add", name, "--role", role, "--config", config.path, "--password-stdin"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data("\(Self.password)\n".utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, text)
        return text
    }
}
