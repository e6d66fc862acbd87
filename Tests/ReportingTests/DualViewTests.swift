@testable import Analysis
import DICOM
import Foundation
import XCTest
@testable import Reporting

/// Images with several 2D tissue regions (dual views): each calibrated region is analysed on
/// its own, with its own field of view and mm per pixel, and every output says which region a
/// lesion was found in. Real scanners' files from pydicom-data, and a dual view composed of two
/// BUSI images whose single-image results are known.
final class DualViewTests: XCTestCase {
    static let alokaName = "gdcm-US-ALOKA-16.dcm"
    static let philipsName = "OBXXXX1A.dcm"

    func model() throws -> LesionModel {
        if let m = ReportingTests.sharedModel { return m }
        let m = try LesionModel(modelFile: TestSupport.model)
        ReportingTests.sharedModel = m
        return m
    }

    /// A BUSI image left (0.1 mm/px) and another right (0.2 mm/px) in one US image: each view
    /// gives exactly what its image gives alone, its lesions measured in its own mm, and the SR,
    /// SEG and presentation state name the view of every lesion.
    func testEachViewOfADualViewIsAnalysedAsIfItWereAlone() throws {
        let dir = try TestSupport.tempDir()
        let left = try TestSupport.busiImage("benign_100"), right = try TestSupport.busiImage("malignant_010")
        let source = dir.appendingPathComponent("dual.dcm")
        let made = try TestSupport.python("dual_view.py", ["compose", left.path, right.path, source.path, "0.01", "0.02"])
        let bounds = try XCTUnwrap(made["regions"] as? [[Int]])
        let reporter = Reporter(model: try model())
        let outputs = try reporter.outputs(forFile: source)
        let frame = outputs.report.reported
        XCTAssertEqual(frame.views.map(\.view.regionNumber), [1, 2])
        XCTAssertEqual(frame.views.map(\.view.position), ["left", "right"])
        let doc = outputs.report.resultDocument()

        for (k, (png, mm)) in [(left, 0.1), (right, 0.2)].enumerated() {
            let view = frame.views[k]
            let b = bounds[k]
            XCTAssertEqual(view.fieldOfView, PixelRect(x: b[0], y: b[1], width: b[2] - b[0] + 1, height: b[3] - b[1] + 1))
            let alone = try reporter.analyzePNG(Data(contentsOf: png), sourceName: png.lastPathComponent).reported
            XCTAssertEqual(view.classProbabilities, alone.classProbabilities, "view \(k + 1): the model saw exactly its image")
            XCTAssertEqual(view.label, alone.label)
            XCTAssertFalse(view.lesions.isEmpty, "BUSI \(png.lastPathComponent) has a lesion the model finds alone")
            XCTAssertEqual(view.lesions.map(\.maskAreaPixels), alone.lesions.map(\.maskAreaPixels))
            let documented = doc.lesions.filter { $0.region == k + 1 }
            XCTAssertEqual(documented.count, view.lesions.count)
            for (lesion, single) in zip(documented, alone.lesions) {
                XCTAssertEqual(lesion.view, k == 0 ? "left" : "right")
                XCTAssertEqual(lesion.mmPerPixel?.count, 2)
                XCTAssertEqual(lesion.mmPerPixel?.first ?? 0, mm, accuracy: 1e-9)
                XCTAssertEqual(lesion.longAxisPx, ImageReport.round2(single.measurement.longAxis.lengthPixels), accuracy: 0.011)
                XCTAssertEqual(try XCTUnwrap(lesion.longAxisMM), lesion.longAxisPx * mm, accuracy: 0.02,
                               "measured in region \(k + 1)'s calibration")
                XCTAssertTrue(view.fieldOfView.contains(lesion.boundingBox), "lesion inside its region")
            }
        }
        XCTAssertEqual(doc.views.map(\.region), [1, 2])
        XCTAssertEqual(doc.views[0].mmPerPixel?.last ?? 0, 0.1, accuracy: 1e-9)
        XCTAssertEqual(doc.views[1].mmPerPixel?.last ?? 0, 0.2, accuracy: 1e-9)
        XCTAssertEqual(doc.label, frame.views.max { $0.classProbabilities[2] < $1.classProbabilities[2] }?.label,
                       "the image is reported as its most suspicious view")

        let check = try writeAndCheck(outputs, source: source, in: dir)
        XCTAssertEqual(check["seg_equals_mask"] as? Bool, true, "the SEG holds both views' lesions")
        let groups = try XCTUnwrap(check["sr_groups"] as? [[String: Any]])
        for (i, lesion) in doc.lesions.enumerated() {
            let name = "Lesion \(i + 1), \(lesion.view ?? "") view, ultrasound region \(lesion.region ?? 0)"
            let group = try XCTUnwrap(groups.first { $0["tracking_identifier"] as? String == name }, "no SR group \(name)")
            let numbers = try XCTUnwrap(group["numbers"] as? [String: [Any]])
            let long = try XCTUnwrap(numbers["Long axis"])
            XCTAssertEqual(long[0] as? Double ?? -1, try XCTUnwrap(lesion.longAxisMM), accuracy: 0.01)
            XCTAssertEqual(long[1] as? String, "mm")
            let own = doc.views[(lesion.region ?? 1) - 1]
            XCTAssertEqual((group["pathology"] as? String)?.lowercased(), own.label, "the lesion's group carries its view's class")
        }
        let texts = check["pr_texts"] as? [String] ?? []
        XCTAssertTrue(texts.contains { $0.contains("left view") } && texts.contains { $0.contains("right view") }, "\(texts)")
    }

    /// ALOKA SSD-4000, a real dual view (16-bit segmented palette): two tissue regions of
    /// 304 x 392 px side by side, analysed one by one; with region 2 recalibrated to twice the
    /// mm per pixel, region 1's findings stay the same and region 2's lesions double in mm.
    func testALOKADualViewGivesResultsPerRegionInThatRegionsMillimetres() throws {
        let dir = try TestSupport.tempDir()
        let source = URL(fileURLWithPath: try realFile(Self.alokaName))
        let recalibrated = dir.appendingPathComponent("aloka-region2.dcm")
        try TestSupport.python("dual_view.py", ["recalibrate", Self.alokaName, recalibrated.path, "2", "0.0765306130051613"])
        let reporter = Reporter(model: try model())
        let original = try reporter.outputs(forFile: source)
        let changed = try reporter.outputs(forFile: recalibrated)
        let a = original.report.resultDocument(), b = changed.report.resultDocument()
        XCTAssertEqual(a.views.map(\.region), [1, 2])
        XCTAssertEqual(a.views.map(\.position), ["left", "right"])
        XCTAssertEqual(a.views.map(\.fieldOfView), [PixelRect(x: 32, y: 24, width: 304, height: 392),
                                                    PixelRect(x: 336, y: 24, width: 304, height: 392)])
        for lesion in a.lesions {
            let region = try XCTUnwrap(lesion.region)
            XCTAssertTrue(a.views[region - 1].fieldOfView.contains(lesion.boundingBox))
        }
        let mm = 0.3826530650258064
        XCTAssertEqual(b.views[0].mmPerPixel?[0] ?? 0, mm, accuracy: 1e-9)
        XCTAssertEqual(b.views[1].mmPerPixel?[0] ?? 0, 2 * mm, accuracy: 1e-9)
        XCTAssertEqual(a.lesions.count, b.lesions.count, "the calibration changes no pixel")
        XCTAssertFalse(a.lesions.filter { $0.region == 2 }.isEmpty, "the model finds something in region 2 to measure")
        for (x, y) in zip(a.lesions, b.lesions) {
            XCTAssertEqual(x.region, y.region)
            XCTAssertEqual(x.longAxisPx, y.longAxisPx)
            let factor = x.region == 2 ? 2.0 : 1.0
            XCTAssertEqual(try XCTUnwrap(y.longAxisMM), try XCTUnwrap(x.longAxisMM) * factor, accuracy: 0.02)
            XCTAssertEqual(try XCTUnwrap(y.areaMM2), try XCTUnwrap(x.areaMM2) * factor * factor, accuracy: 0.1)
        }
        XCTAssertEqual(a.views[0].probabilities, b.views[0].probabilities)
        let check = try writeAndCheck(original, source: source, in: dir)
        let ids = (check["sr_groups"] as? [[String: Any]] ?? []).compactMap { $0["tracking_identifier"] as? String }
        XCTAssertTrue(ids.contains { $0.hasSuffix("right view, ultrasound region 2") }, "\(ids)")
    }

    /// Philips OBXXXX1A: one 2D tissue region (its Max X1 800 lies past the last column 799)
    /// and a waveform region (Spatial Format 4, ECG) that is not analysed: one view, clipped,
    /// lesions in region 1's mm.
    func testPhilipsImageAnalysesItsTissueRegionNotItsWaveform() throws {
        let dir = try TestSupport.tempDir()
        let source = URL(fileURLWithPath: try realFile(Self.philipsName))
        let outputs = try Reporter(model: try model()).outputs(forFile: source)
        let doc = outputs.report.resultDocument()
        XCTAssertEqual(doc.views.count, 1)
        XCTAssertEqual(doc.views.first?.region, 1)
        XCTAssertNil(doc.views.first?.position, "one view: no position to name")
        XCTAssertEqual(doc.fieldOfView, PixelRect(x: 120, y: 60, width: 680, height: 459))
        XCTAssertEqual(doc.mmPerPixel?[0] ?? 0, 0.2622878766196998, accuracy: 1e-9)
        for lesion in doc.lesions {
            XCTAssertEqual(lesion.region, 1)
            XCTAssertNil(lesion.view)
            XCTAssertEqual(try XCTUnwrap(lesion.longAxisMM), lesion.longAxisPx * 0.2622878766196998, accuracy: 0.02)
        }
        let check = try writeAndCheck(outputs, source: source, in: dir)
        let ids = (check["sr_groups"] as? [[String: Any]] ?? []).compactMap { $0["tracking_identifier"] as? String }
        XCTAssertFalse(ids.contains { $0.contains("view") }, "a single view is not named: \(ids)")
    }

    /// The choice of views: calibrated 2D tissue regions only, clipped, a region mostly inside
    /// a larger one left to it, positions from the layout.
    func testViewsAreTheCalibratedTissueRegions() {
        func r(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, format: Int = 1, type: Int = 1, units: Int = 3, item: Int) -> UltrasoundRegion {
            UltrasoundRegion(spatialFormat: format, dataType: type, flags: 0, minX0: x0, minY0: y0, maxX1: x1, maxY1: y1,
                             physicalUnitsX: units, physicalUnitsY: units, physicalDeltaX: 0.01 * Double(item),
                             physicalDeltaY: 0.01 * Double(item), itemNumber: item)
        }
        let sideBySide = AnalysisView.views(regions: [r(0, 0, 99, 99, item: 1), r(100, 0, 199, 99, item: 2),
                                                      r(0, 100, 199, 120, type: 2, item: 3)], width: 200, height: 130)
        XCTAssertEqual(sideBySide.map(\.regionNumber), [1, 2])
        XCTAssertEqual(sideBySide.map(\.position), ["left", "right"])
        XCTAssertEqual(sideBySide[0].spacing?.column ?? 0, 0.1, accuracy: 1e-9)
        XCTAssertEqual(sideBySide[1].spacing?.column ?? 0, 0.2, accuracy: 1e-9)
        let stacked = AnalysisView.views(regions: [r(0, 60, 99, 119, item: 1), r(0, 0, 99, 59, item: 2)], width: 100, height: 120)
        XCTAssertEqual(stacked.map(\.position), ["bottom", "top"])
        // A zoom box inside the B-mode image and an uncalibrated region: one view, unnamed.
        let zoom = AnalysisView.views(regions: [r(0, 0, 199, 199, item: 1), r(50, 50, 120, 120, item: 2),
                                                r(0, 0, 199, 199, units: 0, item: 3)], width: 200, height: 200)
        XCTAssertEqual(zoom.map(\.regionNumber), [1])
        XCTAssertNil(zoom[0].name)
        // Clipped to the image; too small to hold a lesion; none at all.
        XCTAssertEqual(AnalysisView.views(regions: [r(-5, 10, 300, 90, item: 1)], width: 200, height: 100)[0].fieldOfView,
                       PixelRect(x: 0, y: 10, width: 200, height: 81))
        XCTAssertEqual(AnalysisView.views(regions: [r(0, 0, 20, 20, item: 1)], width: 200, height: 100), [.wholeFrame])
        XCTAssertEqual(AnalysisView.views(regions: [], width: 200, height: 100), [.wholeFrame])
    }

    // MARK: - helpers

    private func realFile(_ name: String) throws -> String {
        do {
            let r = try TestSupport.run("python3", ["-c", "from pydicom.data import get_testdata_file; print(get_testdata_file('\(name)'))"])
            let path = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
            guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(name) not found") }
            return path
        } catch let skip as XCTSkip {
            throw skip
        } catch {
            throw XCTSkip("pydicom-data's \(name) is not available (pip install pydicom-data): \(error)")
        }
    }

    /// Writes every output, checks each DICOM object with dciodvfy, reads them back with
    /// highdicom / pydicom (check_outputs.py).
    private func writeAndCheck(_ outputs: AnalysisOutputs, source: URL, in dir: URL) throws -> [String: Any] {
        let out = dir.appendingPathComponent("out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        for f in try outputs.files() { try f.data.write(to: out.appendingPathComponent(f.name)) }
        for name in ["seg.dcm", "sr.dcm", "pr.dcm"] where FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path) {
            let r = try TestSupport.run("dciodvfy", [out.appendingPathComponent(name).path], allowFailure: true)
            XCTAssertEqual(r.status, 0, "\(name): \(r.err)")
            XCTAssertFalse(r.err.contains("Error"), "\(name): \(r.err)")
        }
        return try TestSupport.python("check_outputs.py", [source.path, out.path])
    }
}

private extension PixelRect {
    func contains(_ r: PixelRect) -> Bool { r.x >= x && r.y >= y && r.maxX <= maxX && r.maxY <= maxY }
}
