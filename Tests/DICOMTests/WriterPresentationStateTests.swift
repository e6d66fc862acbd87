import Foundation
import XCTest
@testable import DICOM

final class WriterPresentationStateTests: XCTestCase {
    static func request(_ source: WriterFixture.Source) throws -> PresentationStateWriter.Request {
        let text = "WeCare AI: malignant 87%, 16.2 x 11.4 mm"  // composed by Reporting; the writer draws it as given
        return PresentationStateWriter.Request(
            source: try DICOMInstance(contentsOf: source.url), sourceFrameNumber: source.frames > 1 ? 3 : nil,
            identity: try WriterFixture.identity(.presentationState, source), equipment: WriterFixture.equipment,
            annotations: [.init(contour: WriterReportTests.contour, text: text)])
    }

    private func writeAndRead(_ name: String) throws -> [String: Any] {
        let source = try WriterFixture.source(name)
        let out = WriterFixture.outputURL("\(name)-pr.dcm")
        try PresentationStateWriter.write(try Self.request(source), to: out)
        try WriterFixture.assertValid(out)
        let r = try WriterFixture.check("check_pr.py", [out.path, source.url.path])
        XCTAssertEqual(r["patient_study_differs"] as? [String], [], "patient/study/charset copied")
        let graphics = r["graphics"] as? [[String: Any]] ?? []
        XCTAssertEqual(graphics.count, 1)
        let expected = (WriterReportTests.contour + [WriterReportTests.contour[0]]).flatMap { [$0.x, $0.y] }
        XCTAssertEqual(graphics.first?["data"] as? [Double], expected, "points as passed, closed")
        XCTAssertEqual(graphics.first?["units"] as? String, "PIXEL")
        XCTAssertEqual(graphics.first?["type"] as? String, "POLYLINE")
        XCTAssertEqual(r["texts"] as? [String], ["WeCare AI: malignant 87%, 16.2 x 11.4 mm"])
        XCTAssertEqual(r["layer_declared"] as? Bool, true)
        XCTAssertEqual(r["referenced_image"] as? String, try SourceSummary(contentsOf: source.url).sopInstanceUID)
        XCTAssertEqual(r["displayed_area"] as? [Int], [1, 1, source.columns, source.rows])
        XCTAssertEqual(r["manufacturer"] as? String, "WeCare")
        return r
    }

    func testMonochromeSourceGetsGSPS() throws {
        let r = try writeAndRead("mono")
        XCTAssertEqual(r["sop_class"] as? String, PresentationStateWriter.grayscaleSoftcopyPresentationStateStorage)
        XCTAssertEqual(r["presentation_lut_shape"] as? String, "IDENTITY")
        XCTAssertEqual(r["has_icc"] as? Bool, false)
    }

    func testColourSourceGetsColorSPSWithICCProfile() throws {
        let r = try writeAndRead("rgb")
        XCTAssertEqual(r["sop_class"] as? String, PresentationStateWriter.colorSoftcopyPresentationStateStorage)
        XCTAssertEqual(r["has_icc"] as? Bool, true)
        XCTAssertGreaterThan(r["icc_bytes"] as? Int ?? 0, 128)
    }

    func testYBRJPEGSourceGetsColorSPS() throws {
        let r = try writeAndRead("ybr")
        XCTAssertEqual(r["sop_class"] as? String, PresentationStateWriter.colorSoftcopyPresentationStateStorage)
        XCTAssertEqual(r["has_icc"] as? Bool, true)
    }

    func testPaletteColourSourceGetsColorSPS() throws {
        let r = try writeAndRead("palette")
        XCTAssertEqual(r["sop_class"] as? String, PresentationStateWriter.colorSoftcopyPresentationStateStorage)
        XCTAssertEqual(r["has_icc"] as? Bool, true)
    }

    func testMultiFrameReferencesTheFrame() throws {
        let r = try writeAndRead("multi")
        XCTAssertEqual(r["referenced_frames"] as? [Int], [3])
    }

    func testTwoLesionsGiveTwoOutlinesAndTexts() throws {
        let source = try WriterFixture.source("rgb")
        var request = try Self.request(source)
        let moved = WriterReportTests.contour.map { PixelPoint(x: $0.x - 250, y: $0.y + 200) }
        request.annotations.append(.init(contour: moved, text: "WeCare AI: benign 61%"))
        let out = WriterFixture.outputURL("pr-two.dcm")
        try PresentationStateWriter.write(request, to: out)
        try WriterFixture.assertValid(out)
        let r = try WriterFixture.check("check_pr.py", [out.path])
        let graphics = r["graphics"] as? [[String: Any]] ?? []
        XCTAssertEqual(graphics.count, 2)
        XCTAssertEqual(graphics.last?["data"] as? [Double], (moved + [moved[0]]).flatMap { [$0.x, $0.y] })
        XCTAssertEqual((r["texts"] as? [String])?.last, "WeCare AI: benign 61%")
    }
}
