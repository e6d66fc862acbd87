import DICOM
import Foundation
import XCTest

/// Decoded frames against pixels computed independently (make_us.py), in every accepted encoding.
final class ImageDecodingTests: XCTestCase {
    var fx: ImageFixtures!
    override func setUpWithError() throws { fx = try ImageFixtures() }
    override func tearDown() { fx = nil }

    let busi = ImageFixtures.busiPNG("benign_001.png")
    var pngOption: [String] { busi.map { ["--png", $0] } ?? [] }

    private func assertExact(_ url: URL, _ expected: [[UInt8]], ts: String? = nil,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let inst = try DICOMInstance(contentsOf: url)
        if let ts { XCTAssertEqual(inst.transferSyntaxUID, ts, file: file, line: line) }
        XCTAssertEqual(inst.numberOfFrames, expected.count, file: file, line: line)
        for (i, want) in expected.enumerated() {
            let frame = try inst.grayscaleFrame(i)
            XCTAssertEqual(frame.width * frame.height, want.count, file: file, line: line)
            let d = pixelDifference(frame.pixels, want)
            XCTAssertEqual(d.max, 0, "frame \(i) of \(url.lastPathComponent) differs (mean \(d.mean))",
                           file: file, line: line)
        }
    }

    private func assertClose(_ url: URL, _ expected: [[UInt8]], ts: String, maxDiff: Int, meanDiff: Double,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let inst = try DICOMInstance(contentsOf: url)
        XCTAssertEqual(inst.transferSyntaxUID, ts, file: file, line: line)
        for (i, want) in expected.enumerated() {
            let d = pixelDifference(try inst.grayscaleFrame(i).pixels, want)
            XCTAssertLessThanOrEqual(d.max, maxDiff, "frame \(i) max diff", file: file, line: line)
            XCTAssertLessThanOrEqual(d.mean, meanDiff, "frame \(i) mean diff", file: file, line: line)
        }
    }

    func testImg2dcmBUSIImageDecodesToTheSourcePNG() throws {
        guard let busi else { throw XCTSkip("BUSI data set not present") }
        let made = try fx.makeUSWithImg2dcm(png: busi)
        let inst = try DICOMInstance(contentsOf: made.url)
        XCTAssertEqual(inst.columns, made.width)
        XCTAssertEqual(inst.rows, made.height)
        XCTAssertEqual(inst.sopClassUID, "1.2.840.10008.5.1.4.1.1.6.1")
        XCTAssertEqual(inst.laterality, "L")
        XCTAssertEqual(try inst.grayscaleFrame(0).pixels, made.expected)
    }

    func testImg2dcmJPEGDecodesLikeLibjpeg() throws {
        guard let busi else { throw XCTSkip("BUSI data set not present") }
        let made = try fx.makeUSWithImg2dcm(png: busi, format: "JPEG")
        let inst = try DICOMInstance(contentsOf: made.url)
        XCTAssertEqual(inst.transferSyntaxUID, TransferSyntax.jpegBaseline)
        XCTAssertTrue(inst.lossy)
        // Same codestream, two IJG-derived decoders: only IDCT rounding may differ.
        let d = pixelDifference(try inst.grayscaleFrame(0).pixels, made.expected)
        XCTAssertLessThanOrEqual(d.max, 2)
    }

    func testMonochrome8LosslessEncodingsAreExact() throws {
        let src = try fx.makeUS("mono", pngOption + ["--rows", "101", "--cols", "131"])
        try assertExact(src.url, src.expected, ts: TransferSyntax.explicitVRLittleEndian)
        let variants: [(String, [String], String)] = [
            ("dcmconv", ["+ti"], TransferSyntax.implicitVRLittleEndian),
            ("dcmconv", ["+tb"], TransferSyntax.explicitVRBigEndian),
            ("dcmconv", ["+td"], TransferSyntax.deflatedExplicitVRLittleEndian),
            ("dcmcrle", [], TransferSyntax.rleLossless),
            ("dcmcjpeg", ["+e1"], TransferSyntax.jpegLosslessSV1),
            ("dcmcjpeg", ["+el"], TransferSyntax.jpegLossless),
            ("dcmcjpls", ["+el"], TransferSyntax.jpegLSLossless),
        ]
        for (tool, args, ts) in variants {
            let url = try fx.encode(src.url, tool, args)
            try assertExact(url, src.expected, ts: ts)
            XCTAssertFalse(try DICOMInstance(contentsOf: url).lossy, "\(ts) is lossless")
        }
    }

    func testDatasetWithoutMetaHeaderIsReadInTheDetectedEncoding() throws {
        let src = try fx.makeUS("mono", pngOption + ["--rows", "40", "--cols", "50"])
        for (args, ts) in [(["-F", "+ti"], TransferSyntax.implicitVRLittleEndian),
                           (["-F", "+te"], TransferSyntax.explicitVRLittleEndian)] {
            let url = try fx.encode(src.url, "dcmconv", args)
            let head = try Data(contentsOf: url).prefix(132)
            XCTAssertFalse(head.count == 132 && head.suffix(4) == Data("DICM".utf8), "dcmconv -F wrote a meta header")
            try assertExact(url, src.expected, ts: ts)
        }
    }

    func testMonochrome8LossyEncodingsAreCloseAndFlaggedLossy() throws {
        let src = try fx.makeUS("mono", pngOption + ["--rows", "120", "--cols", "160"])
        let jpeg = try fx.encode(src.url, "dcmcjpeg", ["+eb"])
        try assertClose(jpeg, src.expected, ts: TransferSyntax.jpegBaseline, maxDiff: 48, meanDiff: 3)
        let ext = try fx.encode(src.url, "dcmcjpeg", ["+ee"])
        try assertClose(ext, src.expected, ts: TransferSyntax.jpegExtended, maxDiff: 48, meanDiff: 3)
        // JPEG-LS near-lossless bounds every sample's error by NEAR.
        let nl = try fx.encode(src.url, "dcmcjpls", ["+en", "+md", "3"])
        try assertClose(nl, src.expected, ts: TransferSyntax.jpegLSNearLossless, maxDiff: 3, meanDiff: 3)
        for url in [jpeg, ext, nl] { XCTAssertTrue(try DICOMInstance(contentsOf: url).lossy) }
    }

    func testMonochrome1IsInverted() throws {
        let src = try fx.makeUS("mono1", ["--photometric", "MONOCHROME1"])
        try assertExact(src.url, src.expected)
        try assertExact(try fx.encode(src.url, "dcmcrle", []), src.expected)
    }

    /// 8-bit samples are read as stored only when nothing maps them: a window is applied.
    func testMonochrome8UsesTheWindowWhenPresent() throws {
        for pi in ["MONOCHROME2", "MONOCHROME1"] {
            let src = try fx.makeUS("m8w", pngOption + ["--photometric", pi, "--window", "100", "81"])
            let plain = try fx.makeUS("m8", pngOption + ["--photometric", pi])
            XCTAssertNotEqual(src.expected[0], plain.expected[0], "the window changes the pixels")
            for url in [src.url, try fx.encode(src.url, "dcmconv", ["+ti"])] {
                let d = pixelDifference(try DICOMInstance(contentsOf: url).grayscaleFrame(0).pixels, src.expected[0])
                XCTAssertLessThanOrEqual(d.max, 1, "\(pi)")
            }
        }
    }

    func testMonochrome16UsesTheWindowWhenPresent() throws {
        let src = try fx.makeUS("m16w", ["--bits", "16", "--window", "26000", "30000"])
        let inst = try DICOMInstance(contentsOf: src.url)
        XCTAssertEqual(inst.bitsStored, 16)
        let d = pixelDifference(try inst.grayscaleFrame(0).pixels, src.expected[0])
        XCTAssertLessThanOrEqual(d.max, 1)
        // The window clips: some pixels are at 0 or 255 that min-max would not put there.
        XCTAssertTrue(src.expected[0].contains(255) || src.expected[0].contains(0))
    }

    func testMonochrome16UsesTheVOILUTWhenPresent() throws {
        let src = try fx.makeUS("voilut", pngOption + ["--bits", "16", "--voi-lut"])
        let inst = try DICOMInstance(contentsOf: src.url)
        let d = pixelDifference(try inst.grayscaleFrame(0).pixels, src.expected[0])
        XCTAssertLessThanOrEqual(d.max, 1)
    }

    func testMonochrome16WithoutWindowUsesMinMax() throws {
        for pi in ["MONOCHROME2", "MONOCHROME1"] {
            let src = try fx.makeUS("m16", ["--bits", "16", "--photometric", pi, "--frames", "2"])
            for url in [src.url, try fx.encode(src.url, "dcmcjpls", ["+el"])] {
                let inst = try DICOMInstance(contentsOf: url)
                for f in 0..<2 {
                    let got = try inst.grayscaleFrame(f).pixels
                    XCTAssertLessThanOrEqual(pixelDifference(got, src.expected[f]).max, 1, "\(pi) frame \(f)")
                    // DCMTK's min-max window spans the range (its rounding may leave the top at 254).
                    XCTAssertLessThanOrEqual(got.min() ?? 255, 1)
                    XCTAssertGreaterThanOrEqual(got.max() ?? 0, 254)
                }
            }
        }
    }

    func testRGBInterleavedAndPlanarLossless() throws {
        for planar in ["0", "1"] {
            let src = try fx.makeUS("rgb", pngOption + ["--photometric", "RGB", "--planar", planar,
                                                        "--rows", "61", "--cols", "83"])
            let inst = try DICOMInstance(contentsOf: src.url)
            XCTAssertEqual(inst.samplesPerPixel, 3)
            XCTAssertEqual(inst.planarConfiguration, Int(planar))
            try assertExact(src.url, src.expected)
            try assertExact(try fx.encode(src.url, "dcmcrle", []), src.expected, ts: TransferSyntax.rleLossless)
            try assertExact(try fx.encode(src.url, "dcmcjpeg", ["+e1"]), src.expected,
                            ts: TransferSyntax.jpegLosslessSV1)
            try assertExact(try fx.encode(src.url, "dcmcjpls", ["+el"]), src.expected,
                            ts: TransferSyntax.jpegLSLossless)
        }
    }

    func testRGBFrameKeepsColour() throws {
        let src = try fx.makeUS("rgb", ["--photometric", "RGB"])
        let inst = try DICOMInstance(contentsOf: src.url)
        let rgb = try inst.rgbFrame(0)
        XCTAssertEqual(rgb.pixels.count, inst.rows * inst.columns * 3)
        // make_us.py sets B = 255 - R for every pixel.
        for i in stride(from: 0, to: rgb.pixels.count, by: 3) {
            XCTAssertEqual(Int(rgb.pixels[i]) + Int(rgb.pixels[i + 2]), 255)
        }
    }

    func testYBRFullAndJPEGYBR422() throws {
        let ybr = try fx.makeUS("ybr", pngOption + ["--photometric", "YBR_FULL", "--rows", "64", "--cols", "96"])
        let inst = try DICOMInstance(contentsOf: ybr.url)
        XCTAssertEqual(inst.photometricInterpretation, "YBR_FULL")
        // YCbCr is rounded to 8 bits when stored: allow that rounding.
        try assertClose(ybr.url, ybr.expected, ts: TransferSyntax.explicitVRLittleEndian, maxDiff: 2, meanDiff: 1)

        let rgb = try fx.makeUS("rgb", pngOption + ["--photometric", "RGB", "--rows", "64", "--cols", "96"])
        let j422 = try fx.encode(rgb.url, "dcmcjpeg", ["+eb"])
        XCTAssertEqual(try DICOMInstance(contentsOf: j422).photometricInterpretation, "YBR_FULL_422")
        try assertClose(j422, rgb.expected, ts: TransferSyntax.jpegBaseline, maxDiff: 48, meanDiff: 3)
        let j444 = try fx.encode(rgb.url, "dcmcjpeg", ["+eb", "+s4"])
        XCTAssertEqual(try DICOMInstance(contentsOf: j444).photometricInterpretation, "YBR_FULL")
        try assertClose(j444, rgb.expected, ts: TransferSyntax.jpegBaseline, maxDiff: 48, meanDiff: 3)
        // Colour must survive (YCbCr converted once, not twice): R + B stays near 255 on average
        // (4:2:2 chroma subsampling blurs it at edges).
        let colour = try DICOMInstance(contentsOf: j422).rgbFrame(0).pixels
        var total = 0
        for i in stride(from: 0, to: colour.count, by: 3) {
            total += abs(Int(colour[i]) + Int(colour[i + 2]) - 255)
        }
        XCTAssertLessThan(Double(total) / Double(colour.count / 3), 8)
    }

    func testPaletteColour8And16BitLUTs() throws {
        for bits in ["8", "16"] {
            let src = try fx.makeUS("pal", pngOption + ["--photometric", "PALETTE", "--palette-bits", bits])
            XCTAssertEqual(try DICOMInstance(contentsOf: src.url).photometricInterpretation, "PALETTE COLOR")
            try assertExact(src.url, src.expected)
            try assertExact(try fx.encode(src.url, "dcmcrle", []), src.expected)
        }
    }

    func testPaletteColour16BitLUTWithHighByteEntries() throws {
        // Entries 256 v: the top is 0xFF00, not 0xFFFF, so scaling to 8 bits may land one below v.
        let src = try fx.makeUS("pal256", pngOption + ["--photometric", "PALETTE", "--palette-bits", "16",
                                                       "--palette-scale", "256"])
        let d = pixelDifference(try DICOMInstance(contentsOf: src.url).grayscaleFrame(0).pixels, src.expected[0])
        XCTAssertLessThanOrEqual(d.max, 1)
    }

    func testMultiFrameEveryFrameDecodesAndFramesDiffer() throws {
        let frames = 4
        for options in [["--photometric", "RGB"], ["--photometric", "MONOCHROME2"]] {
            let src = try fx.makeUS("cine", pngOption + options + ["--frames", "\(frames)"])
            XCTAssertNotEqual(src.expected[0], src.expected[1])
            for url in [src.url, try fx.encode(src.url, "dcmcrle", []),
                        try fx.encode(src.url, "dcmcjpeg", ["+e1"]), try fx.encode(src.url, "dcmcjpls", ["+el"])] {
                let inst = try DICOMInstance(contentsOf: url)
                XCTAssertEqual(inst.sopClassUID, "1.2.840.10008.5.1.4.1.1.3.1")
                try assertExact(url, src.expected)
                XCTAssertNotEqual(try inst.grayscaleFrame(0), try inst.grayscaleFrame(frames - 1))
            }
            // Without a Basic Offset Table; JPEG frames split over several fragments (RLE must be
            // one fragment per frame, PS3.5 A.4.2).
            try assertExact(try fx.encode(src.url, "dcmcrle", ["-ot"]), src.expected, ts: TransferSyntax.rleLossless)
            let splitJPEG = try fx.encode(src.url, "dcmcjpeg", ["+e1", "+fs", "1", "-ot"])
            try assertExact(splitJPEG, src.expected, ts: TransferSyntax.jpegLosslessSV1)
            // Lossy cine: frames decode in any order.
            let jpeg = try fx.encode(src.url, "dcmcjpeg", ["+eb"])
            let inst = try DICOMInstance(contentsOf: jpeg)
            for f in [3, 0, 2, 1] {
                let d = pixelDifference(try inst.grayscaleFrame(f).pixels, src.expected[f])
                XCTAssertLessThanOrEqual(d.mean, 3, "frame \(f)")
            }
        }
    }

    func testConcurrentDecodingMatchesSequential() throws {
        let a = try fx.makeUS("a", pngOption + ["--photometric", "RGB", "--frames", "3"])
        let b = try fx.makeUS("b", pngOption + ["--frames", "3"])
        let files = [try fx.encode(a.url, "dcmcjpeg", ["+eb"]), try fx.encode(b.url, "dcmcjpls", ["+el"]),
                     try fx.encode(a.url, "dcmcrle", []), b.url]
        let instances = try files.map { try DICOMInstance(contentsOf: $0) }
        let sequential = try instances.map { inst in try (0..<3).map { try inst.grayscaleFrame($0) } }
        let results = ResultBox(count: 48)
        // Each job opens its own instance (as the gateway does) or shares one (serialised inside).
        DispatchQueue.concurrentPerform(iterations: 48) { job in
            let k = job % files.count, f = (job / files.count) % 3
            do {
                let inst = job % 2 == 0 ? try DICOMInstance(contentsOf: files[k]) : instances[k]
                results.set(job, try inst.grayscaleFrame(f) == sequential[k][f])
            } catch { results.set(job, false) }
        }
        XCTAssertEqual(results.all.filter { $0 }.count, 48)
    }
}

/// Collects per-job outcomes from concurrent work.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Bool]
    init(count: Int) { values = Array(repeating: false, count: count) }
    func set(_ i: Int, _ v: Bool) { lock.lock(); values[i] = v; lock.unlock() }
    var all: [Bool] { lock.lock(); defer { lock.unlock() }; return values }
}
