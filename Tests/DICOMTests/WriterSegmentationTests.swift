import Foundation
import XCTest
@testable import DICOM

final class WriterSegmentationTests: XCTestCase {
    private func writeAndCheck(_ name: String, ohif: Bool = false) throws -> (URL, [String: Any]) {
        let source = try WriterFixture.source(name)
        var request = try WriterFixture.segRequest(source)
        request.planeOrientationForOHIF = ohif
        let out = WriterFixture.outputURL("\(name)-seg.dcm")
        try SegmentationWriter.write(request, to: out)
        try WriterFixture.assertValid(out)
        let maskFile = WriterFixture.outputURL("\(name).mask")
        try Data(source.masks.flatMap { $0 }).write(to: maskFile)
        let result = try WriterFixture.check("check_seg.py", [source.url.path, out.path, maskFile.path,
                                                              source.maskFrames.map(String.init).joined(separator: ",")])
        XCTAssertEqual(result["mismatched_pixels"] as? Int, 0, "\(result)")
        XCTAssertEqual(result["lesion_pixels"] as? Int, source.masks.reduce(0) { $0 + $1.filter { $0 != 0 }.count })
        XCTAssertEqual(result["segment_label"] as? String, "Mass")
        XCTAssertEqual(result["category"] as? String, "49755003")
        XCTAssertEqual(result["type"] as? String, "4147007")
        XCTAssertEqual(result["anatomy"] as? String, "76752008")
        XCTAssertEqual(result["algorithm_type"] as? String, "AUTOMATIC")
        XCTAssertEqual(result["algorithm_family"] as? String, "123110")
        XCTAssertEqual(result["study_uid_matches"] as? Bool, true)
        XCTAssertEqual(result["patient_id_matches"] as? Bool, true)
        XCTAssertEqual(result["patient_study_differs"] as? [String], [], "patient/study/charset copied")
        XCTAssertEqual(result["series_differs"] as? Bool, true)
        XCTAssertEqual(result["manufacturer"] as? String, "WeCare")
        XCTAssertEqual(result["segments_overlap"] as? String, "NO")
        XCTAssertEqual(result["has_frame_of_reference"] as? Bool, false)
        XCTAssertEqual(result["number_of_frames"] as? Int, source.maskFrames.count)
        return (out, result)
    }

    func testSingleFrameMonochromeOddSizeRoundTripsPixelExact() throws {
        let (_, r) = try writeAndCheck("mono")
        // Laterality lives in the segment's anatomy modifier (dciodvfy rejects series Laterality in SEG).
        XCTAssertEqual(r["laterality_modifier"] as? String, "24028007")
        XCTAssertEqual(r["lossy"] as? String, "00")
        XCTAssertTrue(r["plane_orientation"] is NSNull)
    }

    func testMultiFrameSourceWritesOnlyLesionFramesWithFrameReferences() throws {
        let (_, r) = try writeAndCheck("multi")
        XCTAssertEqual(r["referenced_frames"] as? [Int], [1, 3])
    }

    /// Eight lesion frames of odd size start at every bit offset within a byte: each must come
    /// back where it was drawn (3.6.7's own packing put some frames a byte early).
    func testEveryFrameOfALongOddSizedSEGRoundTripsPixelExact() throws {
        let (_, r) = try writeAndCheck("cine")
        XCTAssertEqual(r["referenced_frames"] as? [Int], Array(1...8))
    }

    func testColourSourceAndLeftLaterality() throws {
        let (_, r) = try writeAndCheck("rgb")
        XCTAssertEqual(r["laterality_modifier"] as? String, "7771000")
    }

    func testLossySourceMakesLossySEG() throws {
        let (_, r) = try writeAndCheck("lossy")
        XCTAssertEqual(r["lossy"] as? String, "01")
        XCTAssertEqual(r["lossy_method"] as? String, "ISO_10918_1")
        let ratio = Double(r["lossy_ratio"] as? String ?? "") ?? 0
        XCTAssertGreaterThan(ratio, 1.0, "ratio is computed from the JPEG bytes")
    }

    func testColourJPEGSourceKeepsItsLossyRatio() throws {
        let (_, r) = try writeAndCheck("ybr")
        XCTAssertEqual(r["lossy"] as? String, "01")
        XCTAssertEqual(r["lossy_method"] as? String, "ISO_10918_1")
        XCTAssertEqual(r["lossy_ratio"] as? String, "18.137", "copied from the source when it says")
    }

    func testSameRequestGivesSameBytesAlsoWhenWrittenConcurrently() throws {
        let source = try WriterFixture.source("mono")
        var request = try WriterFixture.segRequest(source)
        request.identity.contentDateTime = Date(timeIntervalSince1970: 1_800_000_000)
        let serial = try SegmentationWriter.write(request)
        let results = UnsafeMutableBufferPointer<Data?>.allocate(capacity: 4)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        let fixed = request
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            results[i] = try? SegmentationWriter.write(fixed)
        }
        for i in 0..<4 {
            XCTAssertEqual(results[i], serial, "concurrent write \(i) differs from the serial one")
        }
    }

    func testSharedPlaneOrientationForOHIFStillValid() throws {
        let (_, r) = try writeAndCheck("mono", ohif: true)
        XCTAssertEqual(r["plane_orientation"] as? [Double], [1, 0, 0, 0, 1, 0])
    }

    func testRejectsMaskOfWrongSizeAndEmptyFrames() throws {
        let source = try WriterFixture.source("mono")
        var request = try WriterFixture.segRequest(source)
        request.frames = [SegmentationWriter.Frame(mask: [1, 0, 1])]
        XCTAssertThrowsError(try SegmentationWriter.write(request)) { error in
            XCTAssertTrue("\(error)".contains("source resolution"), "\(error)")
        }
        request.frames = [SegmentationWriter.Frame(mask: [UInt8](repeating: 0, count: source.rows * source.columns))]
        XCTAssertThrowsError(try SegmentationWriter.write(request)) { error in
            XCTAssertTrue("\(error)".contains("no lesion pixels"), "\(error)")
        }
        request.frames = []
        XCTAssertThrowsError(try SegmentationWriter.write(request))
    }

    func testMultiFrameSourceNeedsFrameNumbers() throws {
        let source = try WriterFixture.source("multi")
        var request = try WriterFixture.segRequest(source)
        request.frames[0].sourceFrameNumber = nil
        XCTAssertThrowsError(try SegmentationWriter.write(request)) { error in
            XCTAssertTrue("\(error)".contains("sourceFrameNumber"), "\(error)")
        }
        request.frames[0].sourceFrameNumber = 4
        XCTAssertThrowsError(try SegmentationWriter.write(request))
    }
}
