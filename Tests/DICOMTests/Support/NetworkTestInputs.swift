import Foundation

/// Test inputs made with real tools: ultrasound images in every accepted encoding, non-US objects,
/// a self-signed TLS certificate, free ports.
enum NetworkTestInputs {
    static let busiImage = "/work/shared/data/busi/images/benign_001.png"
    static let ultrasoundImageStorage = "1.2.840.10008.5.1.4.1.1.6.1"

    /// One encoding of a test image: file name stem, transfer syntax UID, how to make it from Explicit LE.
    struct Encoding {
        var name: String
        var transferSyntaxUID: String
        var tool: String
        var arguments: [String]
        /// storescu's option that proposes this transfer syntax (with -R: and uncompressed fallback).
        var storescuProposal: String
    }

    static let encodings: [Encoding] = [
        Encoding(name: "explicit", transferSyntaxUID: "1.2.840.10008.1.2.1", tool: "", arguments: [], storescuProposal: "-xe"),
        Encoding(name: "implicit", transferSyntaxUID: "1.2.840.10008.1.2", tool: "dcmconv", arguments: ["+ti"], storescuProposal: "-xi"),
        Encoding(name: "jpeg-baseline", transferSyntaxUID: "1.2.840.10008.1.2.4.50", tool: "dcmcjpeg", arguments: ["+eb"], storescuProposal: "-xy"),
        Encoding(name: "jpeg-extended", transferSyntaxUID: "1.2.840.10008.1.2.4.51", tool: "dcmcjpeg", arguments: ["+ee"], storescuProposal: "-xx"),
        Encoding(name: "jpeg-lossless-sv1", transferSyntaxUID: "1.2.840.10008.1.2.4.70", tool: "dcmcjpeg", arguments: ["+e1"], storescuProposal: "-xs"),
        Encoding(name: "jpeg-ls-lossless", transferSyntaxUID: "1.2.840.10008.1.2.4.80", tool: "dcmcjpls", arguments: ["+el"], storescuProposal: "-xt"),
        Encoding(name: "jpeg-ls-near", transferSyntaxUID: "1.2.840.10008.1.2.4.81", tool: "dcmcjpls", arguments: ["+en"], storescuProposal: "-xu"),
        Encoding(name: "rle", transferSyntaxUID: "1.2.840.10008.1.2.5", tool: "dcmcrle", arguments: [], storescuProposal: "-xr"),
    ]

    /// A fresh temporary directory.
    static func temporaryDirectory(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("wecare-net-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A US Image Storage object in Explicit VR Little Endian from a BUSI PNG (PNG -> BMP by Pillow,
    /// then img2dcm). A new SOP Instance UID each call.
    static func ultrasoundImage(in directory: URL, name: String = "us-explicit") throws -> URL {
        let bmp = directory.appendingPathComponent("\(name).bmp")
        let output = directory.appendingPathComponent("\(name).dcm")
        let python = try ExternalTool.find("python3")
        try ExternalTool.check(python, ["-c", "import sys; from PIL import Image; Image.open(sys.argv[1]).convert('L').save(sys.argv[2])",
                                        busiImage, bmp.path])
        try ExternalTool.check(try ExternalTool.dcmtk("img2dcm"), [
            "-i", "BMP", bmp.path, output.path, "--no-checks",
            "-k", "SOPClassUID=\(ultrasoundImageStorage)", "-k", "Modality=US",
            "-k", "PatientName=Network^Test", "-k", "PatientID=NET-TEST",
        ])
        try? FileManager.default.removeItem(at: bmp)
        return output
    }

    /// The image in one encoding; the SOP Instance UID stays the one of `source`.
    static func encode(_ source: URL, as encoding: Encoding, in directory: URL) throws -> URL {
        if encoding.tool.isEmpty { return source }
        let output = directory.appendingPathComponent("us-\(encoding.name).dcm")
        try ExternalTool.check(try ExternalTool.dcmtk(encoding.tool), encoding.arguments + [source.path, output.path])
        return output
    }

    /// A copy of `source` relabelled as another SOP class (e.g. CT or an SR) with a new instance UID.
    static func relabel(_ source: URL, sopClassUID: String, name: String, in directory: URL) throws -> URL {
        let output = directory.appendingPathComponent("\(name).dcm")
        try FileManager.default.copyItem(at: source, to: output)
        try ExternalTool.check(try ExternalTool.dcmtk("dcmodify"), [
            "-nb", "-gin", "-m", "(0008,0016)=\(sopClassUID)", output.path,
        ])
        return output
    }

    /// A self-signed certificate and key for CN=localhost (PEM).
    static func selfSignedCertificate(in directory: URL, name: String = "server") throws -> (certificate: String, key: String) {
        let certificate = directory.appendingPathComponent("\(name)-cert.pem").path
        let key = directory.appendingPathComponent("\(name)-key.pem").path
        try ExternalTool.check(try ExternalTool.find("openssl"), [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate,
            "-days", "2", "-subj", "/CN=localhost",
        ])
        return (certificate, key)
    }

    /// A TCP port nothing listens on right now (bound then released).
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return UInt16(bigEndian: address.sin_port)
    }

    /// The dataset bytes of a Part 10 file (everything after the File Meta Information group).
    static func datasetBytes(of file: URL) throws -> Data {
        let data = try Data(contentsOf: file)
        // Preamble (128) + "DICM" (4) + (0002,0000) UL element (12) + the group length it holds.
        guard data.count > 144, String(decoding: data[128..<132], as: UTF8.self) == "DICM" else {
            throw CocoaError(.fileReadCorruptFile)
        }
        let groupLength = data[140..<144].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        return data.subdata(in: (144 + groupLength)..<data.count)
    }

    /// Transfer Syntax UID from the File Meta Information, via dcmdump.
    static func transferSyntax(of file: URL) throws -> String {
        let result = try ExternalTool.check(try ExternalTool.dcmtk("dcmdump"), ["-M", "+P", "0002,0010", "-Un", file.path])
        guard let open = result.output.firstIndex(of: "["), let close = result.output.firstIndex(of: "]") else { return "" }
        return String(result.output[result.output.index(after: open)..<close])
    }

    /// SOP Instance UID via dcmdump.
    static func sopInstanceUID(of file: URL) throws -> String { try value(of: "0008,0018", in: file) }

    /// One top-level attribute's value as dcmdump prints it; "" when absent.
    static func value(of tag: String, in file: URL) throws -> String {
        let result = try ExternalTool.check(try ExternalTool.dcmtk("dcmdump"), ["-M", "+P", tag, file.path])
        guard let open = result.output.firstIndex(of: "["), let close = result.output.firstIndex(of: "]") else { return "" }
        return String(result.output[result.output.index(after: open)..<close])
    }
}
