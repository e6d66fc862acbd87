import Foundation
import XCTest

/// Paths and processes the Reporting tests share.
enum TestSupport {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let model = root.appendingPathComponent("weights/busi_unet.onnx")
    static let support = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    /// `WECARE_BUSI_DIR`, else `../shared/data/busi` beside the repository, else the shared copy on
    /// this machine (a clone elsewhere, e.g. under /tmp, still finds it).
    static let busi: URL = {
        let candidates = [ProcessInfo.processInfo.environment["WECARE_BUSI_DIR"],
                          root.deletingLastPathComponent().appendingPathComponent("shared/data/busi").path,
                          "/work/shared/data/busi"].compactMap { $0 }
        let found = candidates.first { FileManager.default.fileExists(atPath: "\($0)/images") } ?? candidates[0]
        return URL(fileURLWithPath: found)
    }()

    static func busiImage(_ id: String) throws -> URL {
        let url = busi.appendingPathComponent("images/\(id).png")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("BUSI data not found at \(busi.path)")
        }
        return url
    }

    static func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("wecare-reporting-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    /// Runs a program; returns stdout, fails the test with stderr on a non-zero exit.
    @discardableResult
    static func run(_ tool: String, _ args: [String], allowFailure: Bool = false) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let result = (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
        if !allowFailure && p.terminationStatus != 0 {
            throw NSError(domain: "TestSupport", code: Int(p.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "\(tool) \(args.joined(separator: " ")) failed: \(result.2)\(result.1)"])
        }
        return result
    }

    static func python(_ script: String, _ args: [String]) throws -> [String: Any] {
        let r = try run("python3", [support.appendingPathComponent(script).path] + args)
        let line = r.out.split(separator: "\n").last.map(String.init) ?? ""
        guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw NSError(domain: "TestSupport", code: 1, userInfo: [NSLocalizedDescriptionKey: "no JSON from \(script): \(r.out)"])
        }
        return obj
    }
}
