import Foundation
import XCTest

/// Makes real test instances on the fly: pydicom (ImageSupport/make_us.py) for the layout,
/// DCMTK's command-line tools for every encoding. Everything lives in one temporary folder.
final class ImageFixtures {
    struct ToolError: Error, CustomStringConvertible {
        let description: String
    }

    let dir: URL
    private var counter = 0

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("wecare-image-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("ImageSupport/make_us.py")
    static let busiImages = URL(fileURLWithPath: "/work/shared/data/busi/images")

    /// A BUSI image when the data set is present (it is on the project's machines), else nil:
    /// callers then use the synthetic pattern.
    static func busiPNG(_ name: String) -> String? {
        let url = busiImages.appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: url.path) ? url.path : nil
    }

    func file(_ stem: String, _ ext: String = "dcm") -> URL {
        counter += 1
        return dir.appendingPathComponent("\(stem)-\(counter).\(ext)")
    }

    /// Finds an executable on PATH; fails with what to install when it is missing.
    static func tool(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ToolError(description: "\(name) not found on PATH; install Debian package "
            + (name == "python3" ? "python3 (+ pip pydicom numpy pillow)" : name == "dciodvfy" ? "dicom3tools" : "dcmtk"))
    }

    /// Runs a tool, returns stdout; throws with stderr when it exits non-zero.
    @discardableResult
    static func run(_ name: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try tool(name))
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw ToolError(description: "\(name) \(args.joined(separator: " ")) exited \(p.terminationStatus): "
                + (String(data: e, encoding: .utf8) ?? ""))
        }
        return String(data: o, encoding: .utf8) ?? ""
    }

    /// A pydicom-made uncompressed instance plus its expected 8-bit grayscale frames.
    func makeUS(_ stem: String, _ options: [String]) throws -> (url: URL, expected: [[UInt8]]) {
        let out = file(stem), expected = file(stem, "raw")
        try Self.run("python3", [Self.script.path, "image", "--out", out.path, "--expected", expected.path] + options)
        let inst = try Data(contentsOf: expected)
        let frames = Int(option("--frames", options) ?? "1")!
        let per = inst.count / frames
        return (out, (0..<frames).map { [UInt8](inst[($0 * per)..<(($0 + 1) * per)]) })
    }

    /// A US Image made the way a site would: BUSI PNG -> BMP or JPEG -> img2dcm -> dcmodify to US.
    func makeUSWithImg2dcm(png: String, format: String = "BMP") throws
        -> (url: URL, expected: [UInt8], width: Int, height: Int) {
        let ext = format == "BMP" ? "bmp" : "jpg"
        let image = file("busi", ext), raw = file("busi", "raw"), out = file("img2dcm")
        let size = try Self.run("python3", [Self.script.path, ext, "--png", png, "--out", image.path,
                                            "--expected", raw.path])
            .split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        try Self.run("img2dcm", ["-i", format, image.path, out.path])
        try Self.run("dcmodify", ["-nb", "-m", "(0008,0016)=1.2.840.10008.5.1.4.1.1.6.1",
                                  "-i", "(0008,0060)=US",
                                  "-i", "(0020,0060)=L", out.path])
        return (out, [UInt8](try Data(contentsOf: raw)), size[0], size[1])
    }

    /// Re-encodes `src` with a DCMTK tool; returns the new file.
    func encode(_ src: URL, _ tool: String, _ args: [String]) throws -> URL {
        let out = file("\(tool)")
        try Self.run(tool, args + [src.path, out.path])
        return out
    }

    /// dcmdump's value of one attribute (independent of the code under test).
    static func dump(_ url: URL, _ tag: String) throws -> String {
        let line = try run("dcmdump", ["-s", "-Un", "+P", tag, url.path])
        guard let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") else { return "" }
        return String(line[line.index(after: open)..<close])
    }

    private func option(_ name: String, _ options: [String]) -> String? {
        guard let i = options.firstIndex(of: name), i + 1 < options.count else { return nil }
        return options[i + 1]
    }
}

/// Largest absolute difference and mean absolute difference of two equal-length byte arrays.
func pixelDifference(_ a: [UInt8], _ b: [UInt8]) -> (max: Int, mean: Double) {
    precondition(a.count == b.count)
    var maxd = 0, sum = 0
    for i in 0..<a.count {
        let d = abs(Int(a[i]) - Int(b[i]))
        maxd = max(maxd, d)
        sum += d
    }
    return (maxd, a.isEmpty ? 0 : Double(sum) / Double(a.count))
}
