import Foundation
import XCTest

/// Real ultrasound DICOM inputs made with dcmtk from BUSI images, one per encoding.
enum TestImages {
    static let usImageStorage = "1.2.840.10008.5.1.4.1.1.6.1"

    /// Transfer syntax -> how to make it from the Explicit LE original, and the storescu
    /// option that proposes it (with -R, plus storescu's uncompressed fallback).
    static let encodings: [(name: String, uid: String, tool: String, args: [String], proposal: String)] = [
        ("explicit", "1.2.840.10008.1.2.1", "", [], "-xe"),
        ("implicit", "1.2.840.10008.1.2", "dcmconv", ["+ti"], "-xi"),
        ("jpeg-baseline", "1.2.840.10008.1.2.4.50", "dcmcjpeg", ["+eb"], "-xy"),
        ("jpeg-extended", "1.2.840.10008.1.2.4.51", "dcmcjpeg", ["+ee"], "-xx"),
        ("jpeg-lossless-sv1", "1.2.840.10008.1.2.4.70", "dcmcjpeg", ["+e1"], "-xs"),
        ("jpeg-ls", "1.2.840.10008.1.2.4.80", "dcmcjpls", ["+el"], "-xt"),
        ("jpeg-ls-near", "1.2.840.10008.1.2.4.81", "dcmcjpls", ["+en"], "-xu"),
        ("rle", "1.2.840.10008.1.2.5", "dcmcrle", [], "-xr"),
    ]

    /// `WECARE_BUSI_DIR`, else `../shared/data/busi` beside the repository, else this machine's shared copy.
    static var busiImages: URL {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [ProcessInfo.processInfo.environment["WECARE_BUSI_DIR"],
                          repo.deletingLastPathComponent().appendingPathComponent("shared/data/busi").path,
                          "/work/shared/data/busi"].compactMap { $0 }
        let found = candidates.first { FileManager.default.fileExists(atPath: "\($0)/images") } ?? candidates[0]
        return URL(fileURLWithPath: found).appendingPathComponent("images")
    }

    /// A US Image Storage file (Explicit VR LE, RGB) from a BUSI PNG or, without the data set, a synthetic image.
    static func makeUS(in dir: URL, name: String = "us", size: (Int, Int) = (160, 120)) throws -> URL {
        try Tools.require("img2dcm", "dcmodify")
        let bmp = dir.appendingPathComponent("\(name).bmp")
        let png = try? FileManager.default.contentsOfDirectory(atPath: busiImages.path).filter { $0.hasSuffix(".png") }.sorted().first
        try writeBMP(to: bmp, from: png.map { busiImages.appendingPathComponent($0) }, size: size)
        let out = dir.appendingPathComponent("\(name).dcm")
        let r = try Tools.run("img2dcm", ["-i", "BMP", bmp.path, out.path, "-k", "SOPClassUID=\(usImageStorage)", "-k", "Modality=US",
                                          "-k", "PatientName=Test^Patient", "-k", "PatientID=TEST-0001"])
        guard r.status == 0 else { throw XCTSkip("img2dcm failed: \(r.output)") }
        return out
    }

    /// `count` distinct instances (own SOP Instance UIDs) of one encoding.
    static func make(_ count: Int, encoding: String = "explicit", in dir: URL) throws -> [URL] {
        let original = try makeUS(in: dir, name: "original-\(UUID().uuidString.prefix(6))")
        guard let e = encodings.first(where: { $0.name == encoding }) else { fatalError("unknown encoding \(encoding)") }
        var encoded = original
        if !e.tool.isEmpty {
            try Tools.require(e.tool)
            encoded = dir.appendingPathComponent("enc-\(encoding)-\(UUID().uuidString.prefix(6)).dcm")
            let r = try Tools.run(e.tool, e.args + [original.path, encoded.path])
            guard r.status == 0 else { throw XCTSkip("\(e.tool) failed: \(r.output)") }
        }
        var files: [URL] = []
        for i in 0..<count {
            let f = dir.appendingPathComponent("\(encoding)-\(i)-\(UUID().uuidString.prefix(6)).dcm")
            try FileManager.default.copyItem(at: encoded, to: f)
            // New SOP Instance UID each; the meta header follows (no -nmu).
            let r = try Tools.run("dcmodify", ["-nb", "-gin", f.path])
            XCTAssertEqual(r.status, 0, r.output)
            files.append(f)
        }
        return files
    }

    static func sopInstanceUID(_ file: URL) throws -> String {
        let r = try Tools.run("dcmdump", ["+P", "0008,0018", "-s", file.path])
        guard let open = r.output.firstIndex(of: "["), let close = r.output.firstIndex(of: "]") else {
            throw XCTSkip("no SOP Instance UID in \(file.lastPathComponent): \(r.output)")
        }
        return String(r.output[r.output.index(after: open)..<close])
    }

    /// The dataset as dcmdump prints it (element values), for dataset-level equality.
    static func datasetDump(_ file: URL) throws -> String {
        let r = try Tools.run("dcmdump", ["-M", "+L", "+U8", "--print-all", file.path])
        return r.output.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.contains("(0002,") }.joined(separator: "\n")
    }

    private static func writeBMP(to url: URL, from png: URL?, size: (Int, Int)) throws {
        let script = """
        import sys
        from PIL import Image
        w, h = \(size.0), \(size.1)
        src = sys.argv[2] if len(sys.argv) > 2 else ""
        if src:
            im = Image.open(src).convert("RGB").resize((w, h))
        else:
            im = Image.new("RGB", (w, h))
            im.putdata([((x * 7) % 256, (y * 5) % 256, ((x + y) * 3) % 256) for y in range(h) for x in range(w)])
        im.save(sys.argv[1], "BMP")
        """
        let r = try Tools.run("python3", ["-c", script, url.path] + (png.map { [$0.path] } ?? []))
        guard r.status == 0 else { throw XCTSkip("python3 with pillow needed to make test images: \(r.output)") }
    }
}
