import DICOM
import Foundation
import XCTest

/// Segmented palette colour LUTs (PS3.3 C.7.9.2): the expander on hand-made segment streams
/// (values worked out from the standard's definitions, and the same streams through pydicom),
/// and a real ALOKA file rendered pixel-exact against pydicom's `apply_color_lut`.
final class SegmentedPaletteTests: XCTestCase {
    static let reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("ImageSupport/palette_reference.py")
    static let aloka = "gdcm-US-ALOKA-16.dcm"

    var fx: ImageFixtures!
    override func setUpWithError() throws { fx = try ImageFixtures() }
    override func tearDown() { fx = nil }

    // MARK: - the expander

    func testDiscreteSegmentsAreCopied() throws {
        XCTAssertEqual(try SegmentedPaletteLUT.expand(words: [0, 3, 10, 20, 30, 0, 1, 40], bitsPerEntry: 16), [10, 20, 30, 40])
    }

    func testLinearSegmentStartsAfterTheLastEntryAndEndsOnItsValue() throws {
        // From 0 to 100 in 4: 25, 50, 75, 100 (the first is y0 + (y1 - y0) / n, the last y1).
        XCTAssertEqual(try SegmentedPaletteLUT.expand(words: [0, 1, 0, 1, 4, 100], bitsPerEntry: 16), [0, 25, 50, 75, 100])
        // Downwards, and a flat one.
        XCTAssertEqual(try SegmentedPaletteLUT.expand(words: [0, 1, 90, 1, 3, 0, 1, 2, 0], bitsPerEntry: 16), [90, 60, 30, 0, 0, 0])
        // 0 -> 10 in 4 lands on 2.5, 5, 7.5, 10: ties round to even, as numpy's around does.
        XCTAssertEqual(try SegmentedPaletteLUT.expand(words: [0, 1, 0, 1, 4, 10], bitsPerEntry: 16), [0, 2, 5, 8, 10])
    }

    func testIndirectSegmentRerunsEarlierSegmentsFromItsOffset() throws {
        // Discrete 5, 10; linear to 20 in 2; then "run 2 segments from entry 0" again: the
        // discrete copies 5, 10 and the linear goes from 10 to 20 once more.
        let words: [UInt16] = [0, 2, 5, 10, 1, 2, 20, 2, 2, 0, 0]
        XCTAssertEqual(try SegmentedPaletteLUT.expand(words: words, bitsPerEntry: 16), [5, 10, 15, 20, 5, 10, 15, 20])
        // Offset 3 (the linear segment alone), from the last entry written (20): flat.
        XCTAssertEqual(try SegmentedPaletteLUT.expand(words: [0, 2, 5, 10, 1, 2, 20, 2, 1, 4, 0], bitsPerEntry: 16),
                       [5, 10, 15, 20, 20, 20])
    }

    func testIndirectOffsetHighWordCounts() throws {
        // A first discrete segment of 65535 entries pushes the second past entry 65535: its
        // offset 65537 needs the high word (1) as well as the low one (1).
        var words: [UInt16] = [0, 65535] + [UInt16](repeating: 7, count: 65535)
        words += [0, 3, 1, 2, 3]  // at entry 65537
        words += [2, 1, 1, 1]
        let lut = try SegmentedPaletteLUT.expand(words: words, bitsPerEntry: 16, limit: 1 << 20)
        XCTAssertEqual(lut.count, 65535 + 3 + 3)
        XCTAssertEqual(Array(lut.suffix(6)), [1, 2, 3, 1, 2, 3])
    }

    func testEightBitEntriesAreTheWordsBytesLowFirst() throws {
        // Bytes 0 2 7 9 | 1 2 19 (pad 0): discrete 7, 9; linear to 19 in 2.
        XCTAssertEqual(try SegmentedPaletteLUT.expand(words: [0x0200, 0x0907, 0x0201, 0x0013], bitsPerEntry: 8), [7, 9, 14, 19])
        // Indirect with 8-bit entries: a four-byte offset (little endian) to byte 0.
        let bytes: [UInt8] = [0, 2, 7, 9, 2, 1, 0, 0, 0, 0]
        let words = stride(from: 0, to: bytes.count, by: 2).map { UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8 }
        XCTAssertEqual(try SegmentedPaletteLUT.expand(words: words, bitsPerEntry: 8), [7, 9, 7, 9])
    }

    func testMalformedStreamsAreRefusedWithTheReason() {
        func refused(_ words: [UInt16], _ expected: SegmentedPaletteLUT.ExpansionError, line: UInt = #line) {
            XCTAssertThrowsError(try SegmentedPaletteLUT.expand(words: words, bitsPerEntry: 16), line: line) { error in
                XCTAssertEqual(error as? SegmentedPaletteLUT.ExpansionError, expected, line: line)
            }
        }
        refused([1, 4, 100], .nothingBefore(opcode: 1))
        refused([2, 1, 0, 0], .nothingBefore(opcode: 2))
        refused([0, 1, 5, 3, 1, 0], .unknownOpcode(3, segmentAt: 3))
        refused([0, 9, 1, 2], .truncated(segmentAt: 0))
        refused([0, 1, 5, 2, 1, 200, 0], .offsetOutOfRange(200, segmentAt: 3))
        // An indirect segment pointing at itself would never end.
        refused([0, 1, 5, 2, 1, 3, 0], .tooDeep)
        XCTAssertThrowsError(try SegmentedPaletteLUT.expand(words: [0, 3, 1, 2, 3], bitsPerEntry: 16, limit: 2))
    }

    /// The same hand-made streams through pydicom's expander: same entries, and pydicom refuses
    /// what is refused here.
    func testHandMadeStreamsExpandAsPydicomDoes() throws {
        var rng = SystemRandomNumberGenerator()
        var streams: [(words: [UInt16], bits: Int)] = [
            ([0, 3, 10, 20, 30, 0, 1, 40], 16), ([0, 1, 0, 1, 4, 100], 16), ([0, 1, 0, 1, 4, 10], 16),
            ([0, 1, 90, 1, 3, 0, 1, 2, 0], 16), ([0, 2, 5, 10, 1, 2, 20, 2, 2, 0, 0], 16),
            ([0, 2, 5, 10, 1, 2, 20, 2, 1, 4, 0], 16), ([0x0200, 0x0907, 0x0201, 0x0013], 8), ([1, 4, 100], 16),
        ]
        // Random discrete + linear streams with odd lengths and ramps both ways (rounding ties).
        for _ in 0..<20 {
            var words: [UInt16] = [0, 1, UInt16.random(in: 0...65535, using: &rng)]
            for _ in 0..<12 {
                if Bool.random(using: &rng) {
                    words += [1, UInt16.random(in: 1...37, using: &rng), UInt16.random(in: 0...65535, using: &rng)]
                } else {
                    let n = Int.random(in: 1...5, using: &rng)
                    words += [0, UInt16(n)] + (0..<n).map { _ in UInt16.random(in: 0...65535, using: &rng) }
                }
            }
            streams.append((words, 16))
        }
        let input = fx.file("streams", "json")
        let json = streams.map { ["words": $0.words.map(Int.init), "bits": $0.bits] as [String: Any] }
        try JSONSerialization.data(withJSONObject: json).write(to: input)
        let out = try ImageFixtures.run("python3", [Self.reference.path, "expand", input.path])
        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let luts = try XCTUnwrap(parsed["luts"] as? [Any])
        XCTAssertEqual(luts.count, streams.count)
        for (stream, expected) in zip(streams, luts) {
            let ours = try? SegmentedPaletteLUT.expand(words: stream.words, bitsPerEntry: stream.bits)
            if let values = expected as? [Int] {
                XCTAssertEqual(ours?.map(Int.init), values, "stream \(stream.words.prefix(12))")
            } else {
                XCTAssertNil(ours, "pydicom refuses \(stream.words.prefix(12)); so must we")
            }
        }
    }

    // MARK: - a real scanner's file

    /// pydicom-data's ALOKA SSD-4000 image (16-bit PALETTE COLOR, segmented tables of discrete
    /// and linear segments) decodes to exactly pydicom's `apply_color_lut` output, scaled to 8
    /// bits the same way; also when its pixel data is RLE-compressed.
    func testALOKASixteenBitSegmentedPaletteMatchesPydicom() throws {
        let expectedFile = fx.file("aloka", "rgb")
        let info = try alokaReference(expectedFile)
        let expected = [UInt8](try Data(contentsOf: expectedFile))
        let source = URL(fileURLWithPath: try XCTUnwrap(info["path"] as? String))
        let rle = try fx.encode(source, "dcmcrle", [])
        for url in [source, rle] {
            let instance = try DICOMInstance(contentsOf: url)
            XCTAssertEqual(instance.photometricInterpretation, "PALETTE COLOR")
            XCTAssertEqual(instance.bitsAllocated, 16)
            let rgb = try instance.rgbFrame(0)
            XCTAssertEqual(rgb.width, info["columns"] as? Int)
            XCTAssertEqual(rgb.height, info["rows"] as? Int)
            XCTAssertEqual(rgb.pixels.count, expected.count)
            let differing = zip(rgb.pixels, expected).filter { $0 != $1 }.count
            XCTAssertEqual(differing, 0, "\(url.lastPathComponent): \(differing) samples differ from pydicom")
            // Grey from the same RGB as every colour image (the model's input).
            let gray = try instance.grayscaleFrame(0)
            let (r, g, b) = (Int(expected[0]), Int(expected[1]), Int(expected[2]))
            let luma: Int = (299 * r + 587 * g + 114 * b + 500) / 1000
            XCTAssertEqual(Int(gray.pixels[0]), luma)
        }
        XCTAssertEqual(try DICOMInstance(contentsOf: rle).transferSyntaxUID, TransferSyntax.rleLossless)
    }

    /// A segmented palette that cannot be expanded opens (so the report that says why can be
    /// made from its header) but its frames fail with the reason, not with DCMTK's "Invalid
    /// element value".
    func testUnexpandablePaletteFailsTheFrameWithTheReason() throws {
        let broken = fx.file("aloka-broken")
        _ = try ImageFixtures.run("python3", [Self.reference.path, "break", Self.aloka, broken.path])
        let instance = try DICOMInstance(contentsOf: broken)
        XCTAssertThrowsError(try instance.rgbFrame(0)) { error in
            guard case let DICOMInstanceError.decodingFailed(_, frame, reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(frame, 0)
            XCTAssertTrue(reason.contains("segmented red palette cannot be expanded"), reason)
            XCTAssertTrue(reason.contains("linear segment comes first"), reason)
        }
    }

    private func alokaReference(_ out: URL) throws -> [String: Any] {
        let printed: String
        do {
            printed = try ImageFixtures.run("python3", [Self.reference.path, "render", Self.aloka, out.path])
        } catch {
            throw XCTSkip("pydicom-data's \(Self.aloka) is not available (pip install pydicom-data): \(error)")
        }
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(printed.utf8)) as? [String: Any])
    }
}
