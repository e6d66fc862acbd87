@testable import Analysis
import DICOM
import Foundation
import Inference
import Synchronization
import XCTest
@testable import Reporting

final class ReportingTests: XCTestCase {
    static var sharedModel: LesionModel?

    func model() throws -> LesionModel {
        if let m = Self.sharedModel { return m }
        let m = try LesionModel(modelFile: TestSupport.model)
        Self.sharedModel = m
        return m
    }

    /// The Swift pipeline (decode, resize, engine) agrees with ONNX Runtime fed by the training
    /// recipe's own preprocessing: the two sides share nothing but the model file and the PNG.
    func testPNGClassProbabilitiesMatchONNXRuntime() throws {
        for id in ["benign_100", "malignant_010", "normal_010"] {
            let png = try TestSupport.busiImage(id)
            let reference = try TestSupport.python("reference.py", [png.path])
            let expected = try XCTUnwrap(reference["probs"] as? [Double])
            let report = try Reporter(model: model()).analyzePNG(Data(contentsOf: png), sourceName: png.lastPathComponent)
            let got = report.reported.classProbabilities
            XCTAssertEqual(got.count, 3)
            for (g, e) in zip(got, expected) { XCTAssertEqual(g, e, accuracy: 1e-4, "\(id)") }
            XCTAssertEqual(report.reported.width, reference["width"] as? Int)
        }
    }

    /// A large, obvious lesion is found where the expert drew it, traced, measured in pixels.
    func testPNGLesionOverlapsExpertMask() throws {
        let id = "benign_100"
        let png = try TestSupport.busiImage(id)
        let report = try Reporter(model: model()).analyzePNG(Data(contentsOf: png), sourceName: "\(id).png")
        let truthPNG = try PNGCodec.decodeGray(Data(contentsOf: TestSupport.busi.appendingPathComponent("masks/\(id).png")))
        let predicted = report.reported.masks.mask.bits
        var inter = 0, a = 0, b = 0
        for i in 0..<predicted.count {
            let p = predicted[i] != 0, t = truthPNG.pixels[i] != 0
            if p && t { inter += 1 }
            if p { a += 1 }
            if t { b += 1 }
        }
        let dice = 2 * Double(inter) / Double(max(1, a + b))
        XCTAssertGreaterThan(dice, 0.5, "Dice with the expert mask")
        let doc = report.resultDocument()
        XCTAssertNil(doc.mmPerPixel)
        XCTAssertEqual(doc.sizeUnits, "pixels")
        let lesion = try XCTUnwrap(doc.lesions.first)
        XCTAssertNil(lesion.areaMM2)
        XCTAssertTrue(lesion.svgPath.hasPrefix("M"))
        XCTAssertGreaterThan(lesion.longAxisPx, lesion.shortAxisPx)
        XCTAssertTrue(report.svg().contains("fill-rule=\"evenodd\""))
        let json = try JSONSerialization.jsonObject(with: doc.encoded()) as? [String: Any]
        XCTAssertTrue(json?["sop_instance_uid"] is NSNull, "absent values are explicit nulls")
        let maskBack = try PNGCodec.decodeGray(report.maskPNG())
        XCTAssertEqual(maskBack.width, truthPNG.width)
        XCTAssertEqual(maskBack.pixels.filter { $0 == 255 }.count, a)
    }

    /// DICOM in, SEG/SR/PR out: the region gives field of view and mm; highdicom reads the SEG
    /// pixel-exact against the mask; the SR carries mm measurements; dciodvfy passes every object.
    func testDICOMWithCalibratedRegionProducesValidObjects() throws {
        let dir = try TestSupport.tempDir()
        let png = try TestSupport.busiImage("benign_100")
        let source = dir.appendingPathComponent("us.dcm")
        let pad = 40
        let gray = try PNGCodec.decodeGray(Data(contentsOf: png))
        try TestSupport.run("python3", [TestSupport.support.appendingPathComponent("make_us_dicom.py").path, png.path, source.path,
                                        "--pad", "\(pad)", "--region", "\(pad)", "\(pad)", "\(pad + gray.width - 1)",
                                        "\(pad + gray.height - 1)", "0.01"])
        let reporter = Reporter(model: try model())
        let outputs = try reporter.outputs(forFile: source)
        let doc = outputs.report.resultDocument()
        XCTAssertEqual(doc.fieldOfView, PixelRect(x: pad, y: pad, width: gray.width, height: gray.height))
        XCTAssertEqual(doc.mmPerPixel ?? [], [0.1, 0.1])
        let lesion = try XCTUnwrap(doc.lesions.first)
        XCTAssertEqual(try XCTUnwrap(lesion.longAxisMM), lesion.longAxisPx * 0.1, accuracy: 0.02)
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        for f in try outputs.files() { try f.data.write(to: out.appendingPathComponent(f.name)) }
        for name in ["seg.dcm", "sr.dcm", "pr.dcm"] {
            let r = try TestSupport.run("dciodvfy", [out.appendingPathComponent(name).path], allowFailure: true)
            XCTAssertEqual(r.status, 0, "\(name): \(r.err)")
            XCTAssertFalse(r.err.contains("Error"), "\(name): \(r.err)")
        }
        let check = try TestSupport.python("check_outputs.py", [source.path, out.path])
        XCTAssertEqual(check["seg_equals_mask"] as? Bool, true)
        XCTAssertEqual(check["seg_study"] as? Bool, true)
        XCTAssertEqual(check["pr_sop_class"] as? String, "1.2.840.10008.5.1.4.1.1.11.1", "MONOCHROME source -> GSPS")
        let numbers = try XCTUnwrap(check["sr_numbers"] as? [[String: Any]])
        let longAxis = numbers.first { ($0["name"] as? String)?.lowercased().contains("long") == true }
        XCTAssertEqual(try XCTUnwrap(longAxis?["value"] as? Double), try XCTUnwrap(lesion.longAxisMM), accuracy: 0.05)
        XCTAssertEqual(longAxis?["unit"] as? String, "mm")
        let texts = check["pr_texts"] as? [String] ?? []
        XCTAssertTrue(texts.contains { $0.hasPrefix("WeCare AI: \(doc.label)") && $0.hasSuffix("mm") }, "\(texts)")
    }

    /// Same source and model twice: the same derived UIDs (a resend replaces, never duplicates).
    func testDerivedUIDsAreDeterministic() throws {
        let dir = try TestSupport.tempDir()
        let png = try TestSupport.busiImage("malignant_010")
        let source = dir.appendingPathComponent("us.dcm")
        try TestSupport.run("python3", [TestSupport.support.appendingPathComponent("make_us_dicom.py").path, png.path, source.path, "--rgb"])
        let reporter = Reporter(model: try model())
        let a = try XCTUnwrap(reporter.outputs(forFile: source).derived)
        let b = try XCTUnwrap(reporter.outputs(forFile: source).derived)
        XCTAssertEqual(a.reportUID, b.reportUID)
        XCTAssertEqual(a.segmentationUID, b.segmentationUID)
        XCTAssertEqual(a.presentationStateUID, b.presentationStateUID)
        XCTAssertNotEqual(a.reportUID, a.presentationStateUID)
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        for f in try reporter.outputs(forFile: source).files() { try f.data.write(to: out.appendingPathComponent(f.name)) }
        let check = try TestSupport.python("check_outputs.py", [source.path, out.path])
        XCTAssertEqual(check["pr_sop_class"] as? String, "1.2.840.10008.5.1.4.1.1.11.2", "RGB source -> Color Softcopy PS")
    }

    /// A normal image gets an SR saying so, and no SEG or contour.
    func testNormalImageHasReportButNoSegmentation() throws {
        let dir = try TestSupport.tempDir()
        let png = try TestSupport.busiImage("normal_010")
        let source = dir.appendingPathComponent("normal.dcm")
        try TestSupport.run("python3", [TestSupport.support.appendingPathComponent("make_us_dicom.py").path, png.path, source.path])
        let outputs = try Reporter(model: try model()).outputs(forFile: source)
        XCTAssertEqual(outputs.report.reported.label, "normal")
        XCTAssertTrue(outputs.report.reported.lesions.isEmpty)
        XCTAssertNil(outputs.derived?.presentationState, "nothing to draw")
        XCTAssertNil(outputs.derived?.segmentation)
        XCTAssertNotNil(outputs.derived?.report)
        XCTAssertFalse(outputs.svg.contains("<path"))
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        for f in try outputs.files() { try f.data.write(to: out.appendingPathComponent(f.name)) }
        let r = try TestSupport.run("dciodvfy", [out.appendingPathComponent("sr.dcm").path], allowFailure: true)
        XCTAssertEqual(r.status, 0, r.err)
    }

    /// Multi-frame: every frame analysed, the SEG holds only frames with lesion, the report names its frame.
    func testMultiFrameReportsHighestMalignantFrame() throws {
        let dir = try TestSupport.tempDir()
        let png = try TestSupport.busiImage("malignant_010")
        let source = dir.appendingPathComponent("cine.dcm")
        try TestSupport.run("python3", [TestSupport.support.appendingPathComponent("make_us_dicom.py").path, png.path, source.path, "--frames", "3"])
        let outputs = try Reporter(model: try model()).outputs(forFile: source)
        let report = outputs.report
        XCTAssertEqual(report.frames.count, 3)
        let malignant = try XCTUnwrap(report.card.classes.firstIndex(of: "malignant"))
        let best = report.frames.map { $0.classProbabilities[malignant] }.max()
        XCTAssertEqual(report.reported.classProbabilities[malignant], best)
        XCTAssertEqual(report.resultDocument().frame, report.reported.frameIndex + 1)
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        for f in try outputs.files() { try f.data.write(to: out.appendingPathComponent(f.name)) }
        for name in ["seg.dcm", "sr.dcm", "pr.dcm"] where FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path) {
            let r = try TestSupport.run("dciodvfy", [out.appendingPathComponent(name).path], allowFailure: true)
            XCTAssertEqual(r.status, 0, "\(name): \(r.err)")
        }
        if outputs.derived?.segmentation != nil {
            let check = try TestSupport.python("check_outputs.py", [source.path, out.path])
            XCTAssertEqual(check["seg_source_frames"] as? [Int], report.framesWithLesion.map { $0.frameIndex + 1 })
            XCTAssertEqual(check["seg_equals_mask"] as? Bool, true)
        }
    }

    /// One libpng pass into a buffer of libpng's worst-case bound: noise (which does not
    /// compress) and a mask with odd sizes come back pixel-exact and within the bound.
    func testPNGEncodesInOnePassWithinTheBound() throws {
        var rng = SystemRandomNumberGenerator()
        let (w, h) = (257, 131)
        let noise = (0..<(w * h)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let mask = (0..<(w * h)).map { i in UInt8((i % w - 128) * (i % w - 128) + (i / w - 65) * (i / w - 65) < 2500 ? 255 : 0) }
        for pixels in [noise, mask] {
            let png = try PNGCodec.encodeGray(width: w, height: h, pixels: pixels)
            XCTAssertLessThanOrEqual(png.count, PNGCodec.maxEncodedSize(width: w, height: h))
            let back = try PNGCodec.decodeGray(png)
            XCTAssertEqual(back, PNGCodec.Image(width: w, height: h, pixels: pixels))
        }
        let empty = try PNGCodec.encodeGray(width: 1, height: 1, pixels: [0])
        XCTAssertEqual(try PNGCodec.decodeGray(empty).pixels, [0])
    }

    /// Sizes in the caption: mm with one decimal when calibrated, whole pixels otherwise.
    func testCaptionSizeText() {
        let axis = { (mm: Double?, px: Double) in LesionAxis(start: Point2(0, 0), end: Point2(px, 0), lengthMM: mm, lengthPixels: px) }
        let mm = LesionMeasurement(areaPixels: 100, areaMM2: 1, longAxis: axis(9.96, 99.6), shortAxis: axis(5.04, 50.4))
        XCTAssertEqual(ImageReport.sizeText(mm), "10.0 x 5.0 mm")
        let px = LesionMeasurement(areaPixels: 100, areaMM2: nil, longAxis: axis(nil, 61.6), shortAxis: axis(nil, 44.2))
        XCTAssertEqual(ImageReport.sizeText(px), "62 x 44 px")
    }

    /// The gateway plans one session per worker at start, so no image waits while one is
    /// planned; callers at once each find one, and each returns it.
    func testSessionsArePlannedUpFrontForConcurrentCallers() throws {
        XCTAssertEqual(try LesionModel(modelFile: TestSupport.model).idleSessionCount, 1)
        let model = try LesionModel(modelFile: TestSupport.model, sessions: 3)
        XCTAssertEqual(model.idleSessionCount, 3)
        let image = try GrayImage(width: 64, height: 48, pixels: (0..<(64 * 48)).map { UInt8($0 % 251) })
        let lock = NSLock()
        var classes: [[Double]] = []
        DispatchQueue.concurrentPerform(iterations: 3) { _ in
            let p = try? model.predict(image).classProbabilities
            lock.lock(); classes.append(p ?? []); lock.unlock()
        }
        XCTAssertEqual(classes.count, 3)
        XCTAssertTrue(classes.allSatisfy { $0.count == 3 && $0 == classes[0] }, "\(classes)")
        XCTAssertEqual(model.idleSessionCount, 3, "every session came back, and none was added")
    }

    /// With a thread budget, a job alone runs its inference on the idle workers' threads too,
    /// jobs at work at once split them, and the results are exactly those of one thread. (A model
    /// loaded for one thread may time other kernels faster: its results agree to 1e-5.)
    func testAJobAloneTakesTheIdleThreadsWithTheSameResults() throws {
        let budget = ThreadBudget(total: 2)
        let model = try LesionModel(modelFile: TestSupport.model, sessions: 2, budget: budget)
        let reporter = Reporter(model: model)
        XCTAssertEqual(reporter.asOneJob { budget.share(minimum: 1) }, 2, "alone: every thread")
        XCTAssertEqual(reporter.asOneJob { reporter.asOneJob { budget.share(minimum: 1) } }, 1, "two jobs: one each")
        XCTAssertEqual(budget.share(minimum: 1), 2, "both jobs ended")

        let png = try Data(contentsOf: TestSupport.busiImage("benign_100"))
        let alone = try reporter.asOneJob { try reporter.analyzePNG(png, sourceName: "a") }
        // Inside another job the budget leaves this one a single thread.
        let oneThread = try reporter.asOneJob { try reporter.asOneJob { try reporter.analyzePNG(png, sourceName: "a") } }
        XCTAssertEqual(alone.reported.classProbabilities, oneThread.reported.classProbabilities)
        XCTAssertEqual(alone.reported.masks.mask.bits, oneThread.reported.masks.mask.bits)
        let oneThreadModel = try Reporter(model: self.model()).analyzePNG(png, sourceName: "a")
        for (a, b) in zip(alone.reported.classProbabilities, oneThreadModel.reported.classProbabilities) {
            XCTAssertEqual(a, b, accuracy: 1e-5)
        }
        let together = Mutex<[ImageReport]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            if let r = try? reporter.asOneJob({ try reporter.analyzePNG(png, sourceName: "a") }) { together.withLock { $0.append(r) } }
        }
        XCTAssertEqual(together.withLock { $0.count }, 2)
        for r in together.withLock({ $0 }) {
            XCTAssertEqual(r.reported.classProbabilities, oneThread.reported.classProbabilities)
            XCTAssertEqual(r.reported.masks.mask.bits, oneThread.reported.masks.mask.bits)
        }
    }

    func testRefusesWhatIsNeitherDICOMNorPNG() throws {
        let dir = try TestSupport.tempDir()
        let junk = dir.appendingPathComponent("junk.bin")
        try Data("not an image at all".utf8).write(to: junk)
        XCTAssertThrowsError(try Reporter(model: model()).outputs(forFile: junk)) { error in
            guard case ReportingError.unsupportedInput = error else { return XCTFail("\(error)") }
        }
    }
}
