import Foundation
import XCTest

/// DCMTK and pynetdicom peers pointed at a gateway on loopback.
enum Peers {
    static func echo(port: UInt16, calling: String = "US_ROOM1", called: String = "WECARE") throws -> Tools.Result {
        try Tools.require("echoscu")
        return try Tools.run("echoscu", ["-v", "-aet", calling, "-aec", called, "127.0.0.1", "\(port)"], timeout: 30)
    }

    /// storescu over one association; -v shows a response per file.
    static func store(_ files: [URL], port: UInt16, calling: String = "US_ROOM1", extra: [String] = []) throws -> Tools.Result {
        try Tools.require("storescu")
        return try Tools.run("storescu", ["-v", "-aet", calling, "-aec", "WECARE"] + extra + ["127.0.0.1", "\(port)"] + files.map(\.path),
                             timeout: 300)
    }

    /// Files storescu reports as answered with success, from its verbose log.
    static func acknowledged(in output: String) -> [String] {
        var current: String?
        var acked: [String] = []
        for line in output.split(separator: "\n") {
            if let r = line.range(of: "Sending file: ") { current = String(line[r.upperBound...]) }
            if line.contains("Received Store Response"), line.contains("Success"), let c = current { acked.append(c); current = nil }
        }
        return acked
    }

    /// C-STORE response statuses in storescu's debug (-d) output, in order ("DIMSE Status : 0xc000: ...").
    static func statuses(in output: String) -> [UInt16] {
        output.split(separator: "\n").compactMap { line in
            guard line.contains("DIMSE Status"), let r = line.range(of: "0x") else { return nil }
            return UInt16(line[r.upperBound...].prefix(4), radix: 16)
        }
    }

    static var helper: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Helpers/scu.py")
    }

    static func requirePynetdicom() throws {
        let r = try Tools.run("python3", ["-c", "import pynetdicom"])
        if r.status != 0 { throw XCTSkip("pynetdicom not installed (pip install pynetdicom)") }
    }

    /// Runs scu.py and returns its last JSON line.
    static func scu(_ arguments: [String]) throws -> [String: Any] {
        try requirePynetdicom()
        let r = try Tools.run("python3", [helper.path] + arguments, timeout: 120)
        guard let line = r.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            XCTFail("scu.py gave no result: \(r.output)")
            return [:]
        }
        return object
    }
}
