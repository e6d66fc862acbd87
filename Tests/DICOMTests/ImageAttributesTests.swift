import DICOM
import Foundation
import XCTest

/// Attributes and the Sequence of Ultrasound Regions, checked against dcmdump and the values
/// the fixture wrote.
final class ImageAttributesTests: XCTestCase {
    var fx: ImageFixtures!
    override func setUpWithError() throws { fx = try ImageFixtures() }
    override func tearDown() { fx = nil }

    func testIdentifyingAndImageAttributesMatchDcmdump() throws {
        let src = try fx.makeUS("attrs", ["--photometric", "RGB", "--frames", "2", "--rows", "33", "--cols", "45",
                                          "--laterality", "R", "--image-laterality", "R", "--burned-in", "YES"])
        let url = try fx.encode(src.url, "dcmcjpeg", ["+eb"])
        let inst = try DICOMInstance(contentsOf: url)
        XCTAssertEqual(inst.sopClassUID, try ImageFixtures.dump(url, "0008,0016"))
        XCTAssertEqual(inst.sopInstanceUID, try ImageFixtures.dump(url, "0008,0018"))
        XCTAssertEqual(inst.studyInstanceUID, try ImageFixtures.dump(url, "0020,000d"))
        XCTAssertEqual(inst.seriesInstanceUID, try ImageFixtures.dump(url, "0020,000e"))
        XCTAssertEqual(inst.transferSyntaxUID, TransferSyntax.jpegBaseline)
        XCTAssertEqual(inst.modality, "US")
        XCTAssertEqual(inst.rows, 33)
        XCTAssertEqual(inst.columns, 45)
        XCTAssertEqual(inst.numberOfFrames, 2)
        XCTAssertEqual(inst.samplesPerPixel, 3)
        XCTAssertEqual(inst.bitsAllocated, 8)
        XCTAssertEqual(inst.bitsStored, 8)
        XCTAssertEqual(inst.photometricInterpretation, "YBR_FULL_422")
        XCTAssertEqual(inst.laterality, "R")
        XCTAssertEqual(inst.imageLaterality, "R")
        XCTAssertEqual(inst.burnedInAnnotation, "YES")
        XCTAssertEqual(inst.specificCharacterSet, ["ISO_IR 100"])
        // dcmcjpeg records the lossy step itself.
        XCTAssertTrue(inst.lossy)
        XCTAssertEqual(inst.lossyCompressionMethods.last, "ISO_10918_1")
        XCTAssertEqual(inst.lossyCompressionRatios.count, inst.lossyCompressionMethods.count)
        XCTAssertGreaterThan(inst.lossyCompressionRatios.first ?? 0, 1)
    }

    func testLossyFlagFromHeaderOnLosslessTransferSyntax() throws {
        let lossy = try fx.makeUS("lossy", ["--lossy"])
        let inst = try DICOMInstance(contentsOf: try fx.encode(lossy.url, "dcmcrle", []))
        XCTAssertTrue(inst.lossy)
        XCTAssertEqual(inst.lossyCompressionRatios, [10])
        XCTAssertEqual(inst.lossyCompressionMethods, ["ISO_10918_1"])
        let clean = try DICOMInstance(contentsOf: try fx.makeUS("clean", []).url)
        XCTAssertFalse(clean.lossy)
        XCTAssertEqual(clean.lossyCompressionRatios, [])
        XCTAssertNil(clean.laterality)
        XCTAssertNil(clean.burnedInAnnotation)
    }

    func testUltrasoundRegionsAndMillimetresPerPixel() throws {
        // A calibrated B-mode region, a colour-flow box inside it, a spectral strip below and a
        // B-mode region calibrated in something other than cm.
        let regions = """
        [{"format":1,"type":1,"flags":2,"x0":10,"y0":5,"x1":89,"y1":59,"ux":3,"uy":3,"dx":0.026,"dy":-0.038},
         {"format":1,"type":2,"x0":30,"y0":20,"x1":50,"y1":40,"ux":3,"uy":3,"dx":0.026,"dy":0.026},
         {"format":3,"type":3,"x0":0,"y0":60,"x1":99,"y1":79,"ux":4,"uy":7,"dx":0.01,"dy":0.5},
         {"format":1,"type":1,"x0":90,"y0":0,"x1":99,"y1":10,"ux":0,"uy":0,"dx":0,"dy":0}]
        """
        let src = try fx.makeUS("regions", ["--rows", "80", "--cols", "100", "--regions", regions])
        let inst = try DICOMInstance(contentsOf: try fx.encode(src.url, "dcmconv", ["+ti"]))
        XCTAssertEqual(inst.ultrasoundRegions.count, 4)
        let first = inst.ultrasoundRegions[0]
        XCTAssertEqual(first.spatialFormat, 1)
        XCTAssertEqual(first.dataType, 1)
        XCTAssertEqual(first.flags, 2)
        XCTAssertEqual([first.minX0, first.minY0, first.maxX1, first.maxY1], [10, 5, 89, 59])
        XCTAssertEqual(first.physicalUnitsX, 3)
        XCTAssertEqual(first.physicalDeltaY, -0.038, accuracy: 1e-12)
        let mm = try XCTUnwrap(first.millimetresPerPixel)
        XCTAssertEqual(mm.x, 0.26, accuracy: 1e-9)
        XCTAssertEqual(mm.y, 0.38, accuracy: 1e-9)  // |delta|: a negative delta still measures

        XCTAssertEqual(inst.primaryTissueRegion, first)
        // Inside the colour box the tissue region is still the one measured in.
        XCTAssertEqual(inst.calibratedTissueRegion(containing: (x: 40, y: 30)), first)
        XCTAssertNil(inst.calibratedTissueRegion(containing: (x: 50, y: 70)))  // spectral strip
        XCTAssertNil(inst.calibratedTissueRegion(containing: (x: 95, y: 5)))   // uncalibrated
        XCTAssertNil(inst.ultrasoundRegions[2].millimetresPerPixel)
        XCTAssertNil(inst.ultrasoundRegions[3].millimetresPerPixel)
    }

    /// A Physical Delta of 5 cm per pixel (or 0.00001 cm) is a header error: the region still
    /// bounds the field of view, but no mm value may come from it, and the instance says why.
    func testImplausibleCalibrationGivesNoMillimetres() throws {
        for delta in [5.0, 0.000_01] {
            let regions = """
            [{"format":1,"type":1,"x0":0,"y0":0,"x1":59,"y1":39,"ux":3,"uy":3,"dx":\(delta),"dy":\(delta)}]
            """
            let inst = try DICOMInstance(contentsOf: try fx.makeUS("bad-calibration", ["--rows", "40", "--cols", "60", "--regions", regions]).url)
            let region = try XCTUnwrap(inst.primaryTissueRegion)
            XCTAssertNil(region.millimetresPerPixel, "delta \(delta) cm")
            XCTAssertEqual(inst.calibrationProblems.count, 1)
            XCTAssertTrue(inst.calibrationProblems[0].contains("plausible"), inst.calibrationProblems[0])
        }
        let good = UltrasoundRegion(spatialFormat: 1, dataType: 1, flags: 0, minX0: 0, minY0: 0, maxX1: 9, maxY1: 9,
                                    physicalUnitsX: 3, physicalUnitsY: 3, physicalDeltaX: 0.051, physicalDeltaY: 0.051)
        XCTAssertNil(good.calibrationProblem)
        XCTAssertEqual(try XCTUnwrap(good.millimetresPerPixel).x, 0.51, accuracy: 1e-9)
    }

    func testNoRegionsMeansNoCalibration() throws {
        let inst = try DICOMInstance(contentsOf: try fx.makeUS("plain", []).url)
        XCTAssertEqual(inst.ultrasoundRegions, [])
        XCTAssertNil(inst.primaryTissueRegion)
        XCTAssertNil(inst.calibratedTissueRegion(containing: (x: 1, y: 1)))
    }
}
