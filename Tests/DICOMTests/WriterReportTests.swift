import Foundation
import XCTest
@testable import DICOM

final class WriterReportTests: XCTestCase {
    static let contour = [PixelPoint(x: 300.5, y: 200.5), PixelPoint(x: 380.5, y: 210.5),
                          PixelPoint(x: 390.5, y: 280.5), PixelPoint(x: 310.5, y: 290.5)]
    static let classification = StructuredReportWriter.Classification(
        predicted: .malignant, probabilities: [.normal: 0.05, .benign: 0.08, .malignant: 0.87])

    static func request(_ source: WriterFixture.Source, seg: URL?, lesions: Bool = true,
                        size: StructuredReportWriter.LesionSize = .millimetres(area: 123.45, longAxis: 16.2, shortAxis: 11.4))
        throws -> StructuredReportWriter.Request {
        var segRef: StructuredReportWriter.SegmentationReference?
        if let seg {
            let s = try SourceSummary(contentsOf: seg)
            segRef = .init(seriesInstanceUID: s.seriesInstanceUID, sopInstanceUID: s.sopInstanceUID)
        }
        let lesion = StructuredReportWriter.Lesion(trackingIdentifier: "Lesion 1", size: size, contour: contour,
                                                   segmentationFrameNumber: source.frames > 1 ? 2 : 1)
        return StructuredReportWriter.Request(
            source: try DICOMInstance(contentsOf: source.url), sourceFrameNumber: source.frames > 1 ? 3 : nil,
            identity: try WriterFixture.identity(.structuredReport, source), equipment: WriterFixture.equipment,
            algorithm: WriterFixture.algorithm,
            classification: lesions ? classification
                : .init(predicted: .normal, probabilities: [.normal: 0.9, .benign: 0.06, .malignant: 0.04]),
            lesions: lesions ? [lesion] : [], segmentation: lesions ? segRef : nil)
    }

    private func writeSEG(_ source: WriterFixture.Source) throws -> URL {
        let out = WriterFixture.outputURL("seg.dcm")
        try SegmentationWriter.write(try WriterFixture.segRequest(source), to: out)
        return out
    }

    private func group(_ r: [String: Any], _ i: Int) -> [String: Any] {
        ((r["groups"] as? [[String: Any]]) ?? [])[safe: i] ?? [:]
    }

    func testLesionReportCarriesMeasurementsClassesAndReferences() throws {
        let source = try WriterFixture.source("mono")
        let seg = try writeSEG(source)
        let out = WriterFixture.outputURL("sr.dcm")
        try StructuredReportWriter.write(try Self.request(source, seg: seg), to: out)
        try WriterFixture.assertValid(out)
        let r = try WriterFixture.check("check_sr.py", [out.path, source.url.path])
        XCTAssertEqual(r["patient_study_differs"] as? [String], [], "patient/study/charset copied")
        XCTAssertEqual(r["sop_class"] as? String, StructuredReportWriter.comprehensive3DSRStorage)
        XCTAssertEqual(r["completion"] as? String, "COMPLETE")
        XCTAssertEqual(r["root"] as? String, "DCM:126000")
        XCTAssertEqual(r["template"] as? String, "1500")
        let top = r["top"] as? [String: Any] ?? [:]
        XCTAssertEqual(top["DCM:121058"] as? String, "SCT:47079000")
        let segSummary = try SourceSummary(contentsOf: seg), srcSummary = try SourceSummary(contentsOf: source.url)
        XCTAssertEqual(Set(r["evidence"] as? [String] ?? []), [segSummary.sopInstanceUID, srcSummary.sopInstanceUID])
        XCTAssertEqual((r["library"] as? [[String: Any]])?.first?["instance"] as? String, srcSummary.sopInstanceUID)

        let measured = group(r, 0)
        XCTAssertEqual(measured["template"] as? String, "1410")
        let m = measured["measurements"] as? [String: [String: Any]] ?? [:]
        XCTAssertEqual(m["SCT:42798000"]?["value"] as? Double, 123.45)
        XCTAssertEqual(m["SCT:42798000"]?["unit"] as? String, "mm2")
        XCTAssertEqual(m["SCT:103339001"]?["value"] as? Double, 16.2)
        XCTAssertEqual(m["SCT:103340004"]?["value"] as? Double, 11.4)
        XCTAssertEqual(m["SCT:103340004"]?["unit"] as? String, "mm")
        XCTAssertEqual(m["DCM:111047"]?["value"] as? Double, 87.0)
        XCTAssertEqual(m["DCM:111047"]?["unit"] as? String, "%")
        XCTAssertEqual(m["99WECARE:P-BENIGN"]?["value"] as? Double, 8.0)
        XCTAssertEqual(m["99WECARE:P-NORMAL"]?["value"] as? Double, 5.0)
        XCTAssertEqual(m["99WECARE:P-MALIGNANT"]?["value"] as? Double, 87.0)
        XCTAssertEqual((m["SCT:42798000"]?["algorithm"] as? [String: String])?["DCM:111001"], "WeCare UNet")
        XCTAssertEqual((m["SCT:42798000"]?["algorithm"] as? [String: String])?["DCM:111003"], "0.1.0-test")
        let codes = measured["codes"] as? [String: String] ?? [:]
        XCTAssertEqual(codes["DCM:121071"], "SCT:4147007")
        XCTAssertEqual(codes["DCM:111042"], "SCT:21594007")
        XCTAssertEqual(codes["SCT:363698007"], "SCT:76752008")
        XCTAssertEqual(codes["SCT:363698007>SCT:272741003"], "SCT:24028007")
        let texts = measured["texts"] as? [String: String] ?? [:]
        XCTAssertEqual(texts["DCM:112039"], "Lesion 1")
        XCTAssertEqual(texts["DCM:112040"], DerivedUID.make(sourceSOPInstanceUID: srcSummary.sopInstanceUID,
                                                            producerVersion: "0.1.0-test", role: DerivedUID.Role.lesionTracking(1)))
        let images = measured["images"] as? [[String: Any]] ?? []
        let segRef = images.first { $0["concept"] as? String == "DCM:121214" }
        XCTAssertEqual(segRef?["instance"] as? String, segSummary.sopInstanceUID)
        XCTAssertEqual(segRef?["segments"] as? [Int], [], "frame and segment number are exclusive")
        XCTAssertEqual(segRef?["frames"] as? [Int], [1])
        XCTAssertEqual(images.first { $0["concept"] as? String == "DCM:121233" }?["instance"] as? String, srcSummary.sopInstanceUID)

        let outline = group(r, 1)
        let scoord = outline["scoord"] as? [String: Any] ?? [:]
        XCTAssertEqual(scoord["type"] as? String, "POLYLINE")
        let expected = (Self.contour + [Self.contour[0]]).flatMap { [$0.x, $0.y] }
        XCTAssertEqual(scoord["data"] as? [Double], expected)
        XCTAssertEqual(scoord["image"] as? String, srcSummary.sopInstanceUID)
        XCTAssertEqual(r["highdicom_planar_groups"] as? Int, 2, "\(r["highdicom_error"] ?? "")")
        XCTAssertEqual(r["highdicom_planar_with_region"] as? Int, 1)

        // the whole set is consistent across files
        let pr = WriterFixture.outputURL("pr.dcm")
        try PresentationStateWriter.write(WriterPresentationStateTests.request(source), to: pr)
        let cross = try WriterFixture.run("dcentvfy", [source.url.path, seg.path, out.path, pr.path])
        XCTAssertEqual(cross.status, 0, cross.output)
        XCTAssertFalse(cross.output.contains("Error"), cross.output)
    }

    func testEverySourceKindGivesAConsistentSet() throws {
        for name in ["mono", "rgb", "ybr", "palette", "lossy", "multi"] {
            let source = try WriterFixture.source(name)
            let seg = try writeSEG(source)
            let sr = WriterFixture.outputURL("\(name)-set-sr.dcm"), pr = WriterFixture.outputURL("\(name)-set-pr.dcm")
            try StructuredReportWriter.write(try Self.request(source, seg: seg), to: sr)
            try PresentationStateWriter.write(WriterPresentationStateTests.request(source), to: pr)
            for url in [seg, sr, pr] { try WriterFixture.assertValid(url) }
            let cross = try WriterFixture.run("dcentvfy", [source.url.path, seg.path, sr.path, pr.path])
            XCTAssertEqual(cross.status, 0, "\(name): \(cross.output)")
            XCTAssertFalse(cross.output.contains("Error"), "\(name): \(cross.output)")
        }
    }

    /// The writers encode in memory: a missing or full temporary directory cannot stop the
    /// results, and an object larger than the encoder's 16 kB chunk comes out whole.
    func testObjectsAreEncodedWithoutATemporaryDirectory() throws {
        let source = try WriterFixture.source("multi")
        let segRequest = try WriterFixture.segRequest(source)
        let srRequest = try Self.request(source, seg: nil)
        let prRequest = try WriterPresentationStateTests.request(source)
        let saved = ProcessInfo.processInfo.environment["TMPDIR"]
        setenv("TMPDIR", "/nonexistent-wecare-tmp", 1)
        let encoded = Result { try (SegmentationWriter.write(segRequest), StructuredReportWriter.write(srRequest),
                                    PresentationStateWriter.write(prRequest)) }
        let tmpWhileWriting = FileManager.default.temporaryDirectory.path
        if let saved { setenv("TMPDIR", saved, 1) } else { unsetenv("TMPDIR") }
        XCTAssertTrue(tmpWhileWriting.hasPrefix("/nonexistent-wecare-tmp"), "TMPDIR was not in effect: \(tmpWhileWriting)")

        let (seg, sr, pr) = try encoded.get()
        XCTAssertGreaterThan(seg.count, 2 * 16384, "the SEG should span several encoder chunks")
        var files: [URL] = []
        for (name, data) in [("seg", seg), ("sr", sr), ("pr", pr)] {
            let url = WriterFixture.outputURL("notmp-\(name).dcm")
            try data.write(to: url)
            try WriterFixture.assertValid(url)
            files.append(url)
        }
        let cross = try WriterFixture.run("dcentvfy", [source.url.path] + files.map(\.path))
        XCTAssertEqual(cross.status, 0, cross.output)
        XCTAssertFalse(cross.output.contains("Error"), cross.output)
    }

    func testTwoLesionsGetOwnGroupsAndTrackingUIDs() throws {
        let source = try WriterFixture.source("mono")
        var request = try Self.request(source, seg: nil)
        var second = request.lesions[0]
        second.trackingIdentifier = "Lesion 2"
        second.contour = Self.contour.map { PixelPoint(x: $0.x - 200, y: $0.y + 150) }
        request.lesions.append(second)
        let out = WriterFixture.outputURL("sr-two.dcm")
        try StructuredReportWriter.write(request, to: out)
        try WriterFixture.assertValid(out)
        let r = try WriterFixture.check("check_sr.py", [out.path])
        let groups = r["groups"] as? [[String: Any]] ?? []
        XCTAssertEqual(groups.count, 4)
        let ids = groups.compactMap { ($0["texts"] as? [String: String])?["DCM:112039"] }
        XCTAssertEqual(ids, ["Lesion 1", "Lesion 1 outline", "Lesion 2", "Lesion 2 outline"])
        let uids = groups.compactMap { ($0["texts"] as? [String: String])?["DCM:112040"] }
        XCTAssertEqual(Set(uids).count, 4)
        XCTAssertEqual((groups[3]["scoord"] as? [String: Any])?["data"] as? [Double],
                       (second.contour + [second.contour[0]]).flatMap { [$0.x, $0.y] })
    }

    func testRejectsNonFiniteSizesAndDegenerateContours() throws {
        let source = try WriterFixture.source("mono")
        var request = try Self.request(source, seg: nil, size: .millimetres(area: .nan, longAxis: 1, shortAxis: 1))
        XCTAssertThrowsError(try StructuredReportWriter.write(request)) { XCTAssertTrue("\($0)".contains("finite"), "\($0)") }
        request = try Self.request(source, seg: nil)
        request.lesions[0].contour = Array(Self.contour.prefix(2))
        XCTAssertThrowsError(try StructuredReportWriter.write(request)) { XCTAssertTrue("\($0)".contains("at least 3"), "\($0)") }
        request = try Self.request(source, seg: nil)
        request.classification.probabilities[.benign] = 0.9
        XCTAssertThrowsError(try StructuredReportWriter.write(request)) { XCTAssertTrue("\($0)".contains("sum"), "\($0)") }
    }

    func testUncalibratedSizesAreLabelledPixels() throws {
        let source = try WriterFixture.source("mono")
        let out = WriterFixture.outputURL("sr-px.dcm")
        try StructuredReportWriter.write(try Self.request(source, seg: nil, size: .pixels(area: 4000, longAxis: 80, shortAxis: 60)), to: out)
        try WriterFixture.assertValid(out)
        let r = try WriterFixture.check("check_sr.py", [out.path, source.url.path])
        XCTAssertEqual(r["patient_study_differs"] as? [String], [], "patient/study/charset copied")
        let m = group(r, 0)["measurements"] as? [String: [String: Any]] ?? [:]
        XCTAssertEqual(m["SCT:42798000"]?["unit"] as? String, "{square pixels}")
        XCTAssertEqual(m["SCT:103339001"]?["unit"] as? String, "{pixels}")
        XCTAssertEqual(m["SCT:103339001"]?["value"] as? Double, 80)
        XCTAssertTrue((group(r, 0)["images"] as? [Any] ?? [1]).isEmpty, "no SEG given, no SEG reference")
    }

    func testNormalImageReportSaysNormalWithoutSegmentation() throws {
        let source = try WriterFixture.source("rgb")
        let out = WriterFixture.outputURL("sr-normal.dcm")
        try StructuredReportWriter.write(try Self.request(source, seg: nil, lesions: false), to: out)
        try WriterFixture.assertValid(out)
        let r = try WriterFixture.check("check_sr.py", [out.path, source.url.path])
        XCTAssertEqual(r["patient_study_differs"] as? [String], [], "patient/study/charset copied")
        XCTAssertEqual((r["groups"] as? [Any])?.count, 1)
        let g = group(r, 0)
        XCTAssertEqual(g["template"] as? String, "1501")
        let codes = g["codes"] as? [String: String] ?? [:]
        XCTAssertEqual(codes["DCM:121071"], "SCT:169254007")
        XCTAssertEqual(codes["DCM:111042"], "SCT:17621005")
        XCTAssertEqual(codes["SCT:363698007>SCT:272741003"], "SCT:7771000")
        XCTAssertEqual((g["measurements"] as? [String: [String: Any]])?["99WECARE:P-NORMAL"]?["value"] as? Double, 90)
        XCTAssertEqual(r["evidence"] as? [String], [try SourceSummary(contentsOf: source.url).sopInstanceUID])
    }

    func testMultiFrameReportNamesTheFrame() throws {
        let source = try WriterFixture.source("multi")
        let seg = try writeSEG(source)
        let out = WriterFixture.outputURL("sr-multi.dcm")
        try StructuredReportWriter.write(try Self.request(source, seg: seg), to: out)
        try WriterFixture.assertValid(out)
        let r = try WriterFixture.check("check_sr.py", [out.path, source.url.path])
        XCTAssertEqual(r["patient_study_differs"] as? [String], [], "patient/study/charset copied")
        XCTAssertEqual((r["library"] as? [[String: Any]])?.first?["frames"] as? [Int], [3])
        XCTAssertEqual((group(r, 1)["scoord"] as? [String: Any])?["frames"] as? [Int], [3])
        let segRef = (group(r, 0)["images"] as? [[String: Any]])?.first { $0["concept"] as? String == "DCM:121214" }
        XCTAssertEqual(segRef?["frames"] as? [Int], [2])
        var missingFrame = try Self.request(source, seg: seg)
        missingFrame.sourceFrameNumber = nil
        XCTAssertThrowsError(try StructuredReportWriter.write(missingFrame))
    }

    func testSameInputsGiveSameUIDsAndNewVersionNewUIDs() throws {
        let source = try WriterFixture.source("mono")
        let a = try WriterFixture.check("check_pr.py", [try writePR(source, version: "1.0").path])
        let b = try WriterFixture.check("check_pr.py", [try writePR(source, version: "1.0").path])
        let c = try WriterFixture.check("check_pr.py", [try writePR(source, version: "1.1").path])
        XCTAssertEqual(a["series"] as? String, b["series"] as? String)
        XCTAssertNotEqual(a["series"] as? String, c["series"] as? String)
        var request = try Self.request(source, seg: nil)
        request.identity.contentDateTime = Date(timeIntervalSince1970: 1_800_000_000)
        let sr1 = try StructuredReportWriter.write(request), sr2 = try StructuredReportWriter.write(request)
        XCTAssertEqual(sr1, sr2, "same request, same bytes: a resend replaces")
        let uids = try uidsOf(sr1)
        XCTAssertTrue(uids.contains(request.identity.sopInstanceUID) && uids.contains(request.identity.seriesInstanceUID))
    }

    func testConcurrentReportsAndPresentationStatesEqualSerialOnes() throws {
        let source = try WriterFixture.source("rgb")
        var sr = try Self.request(source, seg: nil)
        sr.identity.contentDateTime = Date(timeIntervalSince1970: 1_800_000_000)
        var pr = try WriterPresentationStateTests.request(source)
        pr.identity.contentDateTime = sr.identity.contentDateTime
        let serial = (try StructuredReportWriter.write(sr), try PresentationStateWriter.write(pr))
        let results = UnsafeMutableBufferPointer<(Data?, Data?)>.allocate(capacity: 6)
        results.initialize(repeating: (nil, nil))
        defer { results.deallocate() }
        let (fixedSR, fixedPR) = (sr, pr)
        DispatchQueue.concurrentPerform(iterations: 6) { i in
            results[i] = (try? StructuredReportWriter.write(fixedSR), try? PresentationStateWriter.write(fixedPR))
        }
        for i in 0..<6 {
            XCTAssertEqual(results[i].0, serial.0, "concurrent SR \(i)")
            XCTAssertEqual(results[i].1, serial.1, "concurrent PR \(i)")
        }
    }

    private func uidsOf(_ data: Data) throws -> String {
        let url = WriterFixture.outputURL("uids.dcm")
        try data.write(to: url)
        return try WriterFixture.run("dcmdump", ["+P", "0020,000e", "+P", "0008,0018", url.path]).output
    }

    private func writePR(_ source: WriterFixture.Source, version: String) throws -> URL {
        var request = try WriterPresentationStateTests.request(source)
        request.identity = try WriterFixture.identity(.presentationState, source, version: version)
        let out = WriterFixture.outputURL("pr-\(version).dcm")
        try PresentationStateWriter.write(request, to: out)
        return out
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
