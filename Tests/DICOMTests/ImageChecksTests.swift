import DICOM
import Foundation
import XCTest

/// The image plausibility checks on hand-built datasets, through `InstanceValidator` as the
/// receive path and `DICOMInstance` use it.
final class ImageChecksTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("checks-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    private func failure(_ d: DatasetBytes, _ ts: String = DatasetBytes.explicitLE, checks: ImageChecks = .default,
                         file: StaticString = #filePath, line: UInt = #line) throws -> ImageCheckFailure? {
        let url = dir.appendingPathComponent("\(UUID().uuidString).dcm")
        try d.write(to: url, transferSyntax: ts)
        let inspection = InstanceValidator(checks: checks).inspect(file: url)
        XCTAssertNoThrow(try inspection.scan.get(), "the structure is sound", file: file, line: line)
        return inspection.imageFailure
    }

    private func image(rows: UInt16 = 4, columns: UInt16 = 6, samples: UInt16 = 1, bits: UInt16 = 8,
                       photometric: String = "MONOCHROME2", sopClass: String = DatasetBytes.usImage, modality: String = "US",
                       pixelBytes: Int? = nil) -> DatasetBytes {
        var d = DatasetBytes()
        d.imageAttributes(rows: rows, columns: columns, samples: samples, bits: bits, photometric: photometric,
                          sopClass: sopClass, modality: modality)
        let n = pixelBytes ?? Int(rows) * Int(columns) * Int(samples) * max(1, Int(bits) / 8)
        d.element(0x7FE0_0010, "OB", [UInt8](repeating: 9, count: n + n % 2))
        return d
    }

    func testAConsistentImagePasses() throws {
        XCTAssertNil(try failure(image()))
        XCTAssertNil(try failure(image(samples: 3, photometric: "RGB")))
        XCTAssertNil(try failure(image(bits: 16)))
        XCTAssertNil(try failure(image(rows: 3, columns: 3)), "9 bytes plus the pad byte")
    }

    func testPixelDataLengthMustMatchTheAttributes() throws {
        // Columns 7 too small for the pixels stored (issue 23: a benign image analysed as normal).
        XCTAssertEqual(try failure(image(columns: 6, pixelBytes: 4 * 13)), .pixelDataLength(expected: 24, actual: 52))
        XCTAssertEqual(try failure(image(pixelBytes: 20)), .pixelDataLength(expected: 24, actual: 20))
    }

    func testUnsupportedBitsSamplesAndPhotometricCombinations() throws {
        guard case .unsupportedLayout? = try failure(image(bits: 1, pixelBytes: 24)) else { return XCTFail("Bits Allocated 1") }
        guard case .unsupportedLayout? = try failure(image(bits: 12, pixelBytes: 48)) else { return XCTFail("Bits Allocated 12") }
        guard case .unsupportedLayout? = try failure(image(samples: 3, photometric: "MONOCHROME2")) else {
            return XCTFail("3 samples, monochrome")
        }
        guard case .unsupportedLayout? = try failure(image(samples: 3, bits: 16, photometric: "RGB")) else {
            return XCTFail("16-bit colour")
        }
        guard case .unsupportedLayout? = try failure(image(samples: 2, photometric: "RGB")) else { return XCTFail("2 samples") }
        XCTAssertEqual(try failure(image(samples: 3, photometric: "HSV")), .unsupportedPhotometric(value: "HSV"))
    }

    func testTheSizeCeilingStopsHugeDeclarationsBeforeAnyDecoder() throws {
        // 65535 x 65535: what made DCMTK reserve 4 GB (native) or 12.9 GB (JPEG).
        let huge = image(rows: 65535, columns: 65535, pixelBytes: 16)
        XCTAssertEqual(try failure(huge), .tooLarge(samples: 65535 * 65535, ceiling: ImageChecks.defaultMaxSamples))
        XCTAssertEqual(try failure(image(), checks: ImageChecks(maxSamples: 23)), .tooLarge(samples: 24, ceiling: 23))
    }

    func testSOPClassAndModalityMustBeAnAcceptedUltrasoundImage() throws {
        let ct = try failure(image(sopClass: DatasetBytes.ctImage, modality: "CT"))
        XCTAssertEqual(ct, .sopClassNotAccepted(uid: DatasetBytes.ctImage))
        XCTAssertTrue(ct?.contradictsSOPClass == true)
        XCTAssertEqual(try failure(image(modality: "CT")), .modalityMismatch(modality: "CT", sopClassUID: DatasetBytes.usImage))
    }

    func testJPEGFrameHeaderMustMatchRowsColumnsAndSamples() throws {
        func jpeg(width: Int, height: Int, components: Int) -> DatasetBytes {
            var d = DatasetBytes()
            d.imageAttributes(rows: 4, columns: 6)
            d.encapsulatedPixelData([DatasetBytes.jpegStart(width: width, height: height, components: components)])
            return d
        }
        XCTAssertNil(try failure(jpeg(width: 6, height: 4, components: 1), DatasetBytes.jpegBaseline))
        // The 31 kB JPEG of issue 23 declared 65535 x 65535 in its SOF.
        guard case .compressedHeader? = try failure(jpeg(width: 65535, height: 65535, components: 1), DatasetBytes.jpegBaseline) else {
            return XCTFail("SOF larger than Rows x Columns")
        }
        guard case .compressedHeader? = try failure(jpeg(width: 6, height: 4, components: 3), DatasetBytes.jpegBaseline) else {
            return XCTFail("3 components for 1 sample")
        }
        var noSOI = DatasetBytes()
        noSOI.imageAttributes()
        noSOI.encapsulatedPixelData([[0, 1, 2, 3]])
        guard case .compressedHeader? = try failure(noSOI, DatasetBytes.jpegBaseline) else { return XCTFail("no SOI") }
        // Native pixel data under a JPEG transfer syntax.
        guard case .pixelDataEncoding? = try failure(image(), DatasetBytes.jpegBaseline) else { return XCTFail("native under JPEG") }
    }

    func testRLEHeaderOffsetsMustLieInTheFragment() throws {
        func rle(_ offsets: [UInt32], samples: UInt16 = 1) -> DatasetBytes {
            var d = DatasetBytes()
            d.imageAttributes(samples: samples, photometric: samples == 3 ? "RGB" : "MONOCHROME2")
            d.encapsulatedPixelData([DatasetBytes.rleFrame(offsets: offsets, body: 40)])
            return d
        }
        XCTAssertNil(try failure(rle([64]), DatasetBytes.rle))
        XCTAssertNil(try failure(rle([64, 74, 84], samples: 3), DatasetBytes.rle))
        // The segfault of issue 23: first segment offset 0xFFFFFF00.
        guard case .rleHeader? = try failure(rle([0xFFFF_FF00]), DatasetBytes.rle) else { return XCTFail("offset 0xFFFFFF00") }
        guard case .rleHeader? = try failure(rle([64, 200, 84], samples: 3), DatasetBytes.rle) else { return XCTFail("past the fragment") }
        guard case .rleHeader? = try failure(rle([64, 84, 74], samples: 3), DatasetBytes.rle) else { return XCTFail("decreasing") }
        guard case .rleHeader? = try failure(rle([64], samples: 3), DatasetBytes.rle) else { return XCTFail("1 segment for RGB") }
    }
}
