import DICOM
import Foundation
import XCTest

/// The structural scanner on hand-built byte streams: every length and nesting written here.
final class ScannerTests: XCTestCase {
    let scanner = DatasetScanner(requireMetaHeader: true)

    private func scan(_ d: DatasetBytes, _ ts: String = DatasetBytes.explicitLE, limits: DatasetScanLimits = .default) throws -> DatasetScan {
        try DatasetScanner(limits: limits, requireMetaHeader: true).scan(bytes: DatasetBytes.part10(d, transferSyntax: ts))
    }

    private func scanError(_ bytes: [UInt8], limits: DatasetScanLimits = .default, file: StaticString = #filePath,
                           line: UInt = #line) -> DatasetScanError? {
        do {
            let s = try DatasetScanner(limits: limits, requireMetaHeader: true).scan(bytes: bytes)
            XCTFail("scanned without error: \(s)", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    /// `depth` sequences nested inside each other (undefined lengths), as a top-level element.
    private static func nested(_ depth: Int, tag: UInt32 = 0x0008_1140) -> (inout DatasetBytes) -> Void {
        { d in
            for _ in 0..<depth {
                d.header(tag, "SQ", length: DatasetBytes.undefined)
                d.item(length: DatasetBytes.undefined)
            }
            for _ in 0..<depth {
                d.itemEnd()
                d.sequenceEnd()
            }
        }
    }

    func testAWellFormedImageYieldsItsAttributesAndPixelData() throws {
        let d = DatasetBytes.nativeImage(rows: 4, columns: 6)
        let s = try scan(d)
        XCTAssertEqual(s.transferSyntaxUID, DatasetBytes.explicitLE)
        XCTAssertTrue(s.hasMetaHeader)
        XCTAssertEqual(s.attributes.sopClassUID, DatasetBytes.usImage)
        XCTAssertEqual(s.attributes.sopInstanceUID, "1.2.3.4.5")
        XCTAssertEqual(s.attributes.studyInstanceUID, "1.2.3.4")
        XCTAssertEqual(s.attributes.modality, "US")
        XCTAssertEqual([s.attributes.rows, s.attributes.columns, s.attributes.samplesPerPixel, s.attributes.bitsAllocated],
                       [4, 6, 1, 8])
        XCTAssertEqual(s.attributes.photometricInterpretation, "MONOCHROME2")
        let bytes = DatasetBytes.part10(d, transferSyntax: DatasetBytes.explicitLE)
        XCTAssertEqual(s.pixelData, .native(offset: bytes.count - 24, length: 24))
        XCTAssertEqual(s.datasetOffset, bytes.count - d.bytes.count)
    }

    func testNestingIsBoundedWithoutRecursion() throws {
        var ok = DatasetBytes()
        ok.imageAttributes(nestedSequence: Self.nested(16))
        XCTAssertEqual(try scan(ok).maxDepthSeen, 16)

        var deep = DatasetBytes()
        deep.imageAttributes(nestedSequence: Self.nested(17))
        guard case .tooDeep(_, 16)? = scanError(DatasetBytes.part10(deep, transferSyntax: DatasetBytes.explicitLE)) else {
            return XCTFail("17 levels must be refused")
        }
        // The hostile case of issue 23: 50,000 levels (1.8 MB) overflowed DCMTK's stack.
        var hostile = DatasetBytes()
        hostile.imageAttributes(nestedSequence: Self.nested(50_000))
        XCTAssertGreaterThan(hostile.bytes.count, 1_800_000)
        guard case .tooDeep? = scanError(DatasetBytes.part10(hostile, transferSyntax: DatasetBytes.explicitLE)) else {
            return XCTFail("50,000 levels must be refused")
        }
        // With a limit raised that far the walk itself still completes (no recursion to overflow).
        let walked = try scan(hostile, limits: DatasetScanLimits(maxDepth: 60_000, maxElements: 1_000_000))
        XCTAssertEqual(walked.maxDepthSeen, 50_000)
    }

    func testImplicitVRDefinedLengthSequencesAreFoundThroughTheDictionary() throws {
        // Implicit VR, defined lengths everywhere: only DCMTK's dictionary says (0008,1140) is SQ.
        func nestedDefined(_ depth: Int) -> [UInt8] {
            var inner: [UInt8] = []
            for _ in 0..<depth {
                var level = DatasetBytes(explicitVR: false)
                level.header(0x0008_1140, "SQ", length: UInt32(inner.count + 8))
                level.item(length: UInt32(inner.count))
                inner = level.bytes + inner
            }
            return inner
        }
        var deep = DatasetBytes(explicitVR: false)
        deep.imageAttributes(nestedSequence: { $0.bytes += nestedDefined(17) })
        guard case .tooDeep? = scanError(DatasetBytes.part10(deep, transferSyntax: DatasetBytes.implicitLE)) else {
            return XCTFail("defined-length implicit sequences must be descended into and bounded")
        }
        var ok = DatasetBytes(explicitVR: false)
        ok.imageAttributes(nestedSequence: { $0.bytes += nestedDefined(3) })
        ok.element(0x7FE0_0010, "OW", [UInt8](repeating: 1, count: 24))
        let s = try scan(ok, DatasetBytes.implicitLE)
        XCTAssertEqual(s.maxDepthSeen, 3)
        XCTAssertEqual(s.attributes.rows, 4, "US values read in implicit VR")

        // The same bytes under a tag the dictionary does not call SQ are an opaque value.
        var opaque = DatasetBytes(explicitVR: false)
        opaque.imageAttributes(nestedSequence: { d in
            let value = Array(nestedDefined(17).dropFirst(8))
            d.header(0x0008_1150, "UI", length: UInt32(value.count))  // Referenced SOP Class UID
            d.bytes += value
        })
        opaque.element(0x7FE0_0010, "OW", [UInt8](repeating: 1, count: 24))
        XCTAssertEqual(try scan(opaque, DatasetBytes.implicitLE).maxDepthSeen, 0)
    }

    func testTruncatedPixelDataEndsEarly() throws {
        let full = DatasetBytes.part10(DatasetBytes.nativeImage(), transferSyntax: DatasetBytes.explicitLE)
        guard case .endsEarly? = scanError(Array(full.dropLast(5))) else { return XCTFail("cut pixel data") }
        guard case .endsEarly? = scanError(Array(full.prefix(full.count - 30))) else { return XCTFail("cut header") }
    }

    func testLengthsPastTheFileOrTheirContainerAreRefused() throws {
        var past = DatasetBytes()
        past.imageAttributes()
        past.header(0x7FE0_0010, "OB", length: 1_000_000)
        past.bytes += [UInt8](repeating: 0, count: 24)
        guard case .endsEarly? = scanError(DatasetBytes.part10(past, transferSyntax: DatasetBytes.explicitLE)) else {
            return XCTFail("value length past the end of the file")
        }

        // An item declaring more bytes than its defined-length sequence holds.
        var overrun = DatasetBytes()
        overrun.imageAttributes(nestedSequence: { d in
            d.header(0x0008_1140, "SQ", length: 16)
            d.item(length: 40)
            d.string(0x0008_1150, "UI", "1.2", pad: 0)
            d.string(0x0008_1155, "UI", "1.2", pad: 0)
            d.string(0x0008_1160, "IS", "1")
            d.string(0x0008_1163, "UI", "1.2", pad: 0)
        })
        overrun.element(0x7FE0_0010, "OB", [UInt8](repeating: 1, count: 24))
        guard case .overrunsContainer? = scanError(DatasetBytes.part10(overrun, transferSyntax: DatasetBytes.explicitLE)) else {
            return XCTFail("item longer than its sequence")
        }
        // An undefined-length sequence without its delimiter before the file ends.
        var open = DatasetBytes()
        open.imageAttributes()
        open.header(0x0040_0275, "SQ", length: DatasetBytes.undefined)
        open.item(length: 0)
        guard case .endsEarly? = scanError(DatasetBytes.part10(open, transferSyntax: DatasetBytes.explicitLE)) else {
            return XCTFail("sequence without delimiter")
        }
    }

    func testElementCountIsBounded() throws {
        var d = DatasetBytes()
        d.imageAttributes(nestedSequence: { d in
            d.header(0x0008_1140, "SQ", length: DatasetBytes.undefined)
            for _ in 0..<200 {
                d.item(length: 0)
            }
            d.sequenceEnd()
        })
        d.element(0x7FE0_0010, "OB", [UInt8](repeating: 1, count: 24))
        let bytes = DatasetBytes.part10(d, transferSyntax: DatasetBytes.explicitLE)
        guard case .tooManyElements(_, 100)? = scanError(bytes, limits: DatasetScanLimits(maxElements: 100)) else {
            return XCTFail("200 items over a limit of 100")
        }
        XCTAssertNoThrow(try DatasetScanner(limits: DatasetScanLimits(maxElements: 300)).scan(bytes: bytes))
    }

    func testGarbageAfterTheDatasetIsRefusedButTrailingPaddingIsNot() throws {
        let image = DatasetBytes.part10(DatasetBytes.nativeImage(), transferSyntax: DatasetBytes.explicitLE)
        guard case .trailingBytes(_, 13)? = scanError(image + Array("garbage bytes".utf8)) else {
            return XCTFail("13 bytes of text after Pixel Data")
        }
        guard case .trailingBytes(_, 3)? = scanError(image + [1, 2, 3]) else { return XCTFail("3 stray bytes") }
        // Bytes that happen to read as an element with a lower tag are garbage too.
        var lower = DatasetBytes()
        lower.us(0x0028_0010, 4)
        guard case .trailingBytes? = scanError(image + lower.bytes) else { return XCTFail("element out of order at the end") }
        var padding = DatasetBytes()
        padding.element(0xFFFC_FFFC, "OB", [0, 0, 0, 0])
        XCTAssertNoThrow(try scanner.scan(bytes: image + padding.bytes))
    }

    func testDuplicateAndOutOfOrderTagsStrayDelimitersAndUnknownVRsAreMalformed() throws {
        var twice = DatasetBytes()
        twice.imageAttributes()
        twice.us(0x0028_0103, 0)
        guard case .malformed? = scanError(DatasetBytes.part10(twice, transferSyntax: DatasetBytes.explicitLE)) else {
            return XCTFail("a tag twice")
        }
        var stray = DatasetBytes()
        stray.string(0x0008_0016, "UI", DatasetBytes.usImage, pad: 0)
        stray.sequenceEnd()
        guard case .malformed? = scanError(DatasetBytes.part10(stray, transferSyntax: DatasetBytes.explicitLE)) else {
            return XCTFail("a sequence delimiter in the dataset")
        }
        var unknown = DatasetBytes()
        unknown.string(0x0008_0016, "ZZ", "1.2", pad: 0)
        guard case .malformed? = scanError(DatasetBytes.part10(unknown, transferSyntax: DatasetBytes.explicitLE)) else {
            return XCTFail("VR ZZ")
        }
    }

    func testMetaHeaderMustBeConsistent() throws {
        let bad = DatasetBytes.part10(DatasetBytes.nativeImage(), transferSyntax: DatasetBytes.explicitLE, groupLengthAdjustment: 4)
        guard case .metaHeader? = scanError(bad) else { return XCTFail("group length off by 4") }
        let bare = DatasetBytes.nativeImage().bytes
        guard case .notDICOM? = scanError(bare) else { return XCTFail("meta header required") }
        // Without the requirement a bare dataset is read in its detected encoding.
        let s = try DatasetScanner().scan(bytes: DatasetBytes.nativeImage(explicitVR: false).bytes)
        XCTAssertEqual(s.transferSyntaxUID, DatasetBytes.implicitLE)
        XCTAssertFalse(s.hasMetaHeader)
        XCTAssertEqual(s.attributes.columns, 6)
        var random = SystemRandomNumberGenerator()
        XCTAssertThrowsError(try DatasetScanner().scan(bytes: (0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) })) {
            guard case .notDICOM? = $0 as? DatasetScanError else { return XCTFail("random bytes: \($0)") }
        }
    }

    func testBigEndianAndEncapsulatedFragments() throws {
        var be = DatasetBytes(littleEndian: false)
        be.imageAttributes(rows: 300, columns: 2)
        be.element(0x7FE0_0010, "OW", [UInt8](repeating: 0, count: 600))
        let s = try scan(be, DatasetBytes.bigEndian)
        XCTAssertEqual(s.attributes.rows, 300)

        var jpeg = DatasetBytes()
        jpeg.imageAttributes()
        jpeg.encapsulatedPixelData([[1, 2, 3, 4], [5, 6]])
        let e = try scan(jpeg, DatasetBytes.jpegBaseline)
        guard case .encapsulated(let table, let fragments)? = e.pixelData else { return XCTFail("encapsulated") }
        XCTAssertEqual(table.length, 0)
        XCTAssertEqual(fragments.map(\.length), [4, 2])
    }
}
