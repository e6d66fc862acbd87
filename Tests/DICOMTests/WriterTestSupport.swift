import Foundation
import XCTest
@testable import DICOM

/// Real tools and real inputs for the writer tests: sources made by img2dcm + pydicom from a BUSI
/// image (WriterSupport/make_sources.py), validators dciodvfy / dcentvfy, highdicom checkers.
enum WriterFixture {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static let supportDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("WriterSupport")
    static let busiID = "benign_010"

    /// Locates an executable on PATH; fails with the package to install when absent.
    static func tool(_ name: String) throws -> String {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw Failure(description: "\(name) not on PATH: install dcmtk, dicom3tools and python3 with pydicom/highdicom")
    }

    /// Runs a program, returning its exit status and merged output.
    @discardableResult
    static func run(_ name: String, _ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try tool(name))
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Asserts dciodvfy accepts the file: exit 0 and no "Error" line.
    static func assertValid(_ url: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run("dciodvfy", [url.path])
        let errors = r.output.split(separator: "\n").filter { $0.hasPrefix("Error") }
        XCTAssertEqual(r.status, 0, "dciodvfy \(url.lastPathComponent):\n\(r.output)", file: file, line: line)
        XCTAssertTrue(errors.isEmpty, "dciodvfy errors:\n\(errors.joined(separator: "\n"))", file: file, line: line)
    }

    /// Runs a python checker from WriterSupport; it prints one JSON object.
    static func check(_ script: String, _ args: [String]) throws -> [String: Any] {
        let r = try run("python3", [supportDir.appendingPathComponent(script).path] + args)
        guard r.status == 0, let last = r.output.split(separator: "\n").last,
              let obj = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any] else {
            throw Failure(description: "\(script) failed (\(r.status)):\n\(r.output)")
        }
        return obj
    }

    struct Source {
        let url: URL
        let rows: Int, columns: Int, frames: Int
        let maskFrames: [Int]
        let masks: [[UInt8]]
        let mmPerPixel: Double
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var madeDir: URL?

    /// The sources (made once per test process).
    static func sourcesDir() throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        if let d = madeDir { return d }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wecare-writer-src-\(UUID().uuidString)")
        let r = try run("python3", [supportDir.appendingPathComponent("make_sources.py").path, busiID, dir.path])
        guard r.status == 0 else { throw Failure(description: "make_sources.py failed:\n\(r.output)") }
        madeDir = dir
        return dir
    }

    static func source(_ name: String) throws -> Source {
        let dir = try sourcesDir()
        let info = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("sources.json")))
        guard let all = info as? [String: [String: Any]], let s = all[name],
              let rows = s["rows"] as? Int, let columns = s["columns"] as? Int, let frames = s["frames"] as? Int,
              let maskFrames = s["mask_frames"] as? [Int], let mm = s["mm_per_pixel"] as? Double else {
            throw Failure(description: "sources.json lacks \(name)")
        }
        let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent("\(name).mask")))
        let n = rows * columns
        let masks = (0..<maskFrames.count).map { Array(bytes[$0 * n..<($0 + 1) * n]) }
        return Source(url: dir.appendingPathComponent("\(name).dcm"), rows: rows, columns: columns, frames: frames,
                      maskFrames: maskFrames, masks: masks, mmPerPixel: mm)
    }

    static func outputURL(_ name: String) -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wecare-writer-out")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("\(UUID().uuidString)-\(name)")
    }

    static let equipment = DerivedEquipment(softwareVersions: "0.1.0-test")
    static let algorithm = AlgorithmIdentification(name: "WeCare UNet", version: "0.1.0-test")

    static func identity(_ kind: DerivedKind, _ source: Source, version: String = "0.1.0-test") throws -> DerivedIdentity {
        let summary = try SourceSummary(contentsOf: source.url)
        return DerivedIdentity(derivedFrom: summary.sopInstanceUID, producerVersion: version, kind: kind,
                               seriesNumber: kind == .segmentation ? 9001 : kind == .structuredReport ? 9002 : 9003)
    }

    static func segRequest(_ source: Source) throws -> SegmentationWriter.Request {
        let frames = zip(source.masks, source.maskFrames).map {
            SegmentationWriter.Frame(mask: $0.0, sourceFrameNumber: source.frames > 1 ? $0.1 : nil)
        }
        return SegmentationWriter.Request(source: try DICOMInstance(contentsOf: source.url), identity: try identity(.segmentation, source),
                                          equipment: equipment, algorithm: algorithm, frames: frames)
    }
}
