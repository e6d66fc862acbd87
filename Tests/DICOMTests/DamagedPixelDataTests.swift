import DICOM
import Foundation
import XCTest

/// Pixel data that decodes, but wrongly, fails instead of being analysed: a JPEG whose scan is
/// damaged (libjpeg warns and fills with grey) and interleaved samples declared as planes.
final class DamagedPixelDataTests: XCTestCase {
    var fx: ImageFixtures!
    override func setUpWithError() throws { fx = try ImageFixtures() }
    override func tearDown() { fx = nil }

    private func decodeError(_ url: URL) throws -> String? {
        let instance = try DICOMInstance(contentsOf: url)
        do {
            _ = try instance.grayscaleFrame(0)
            return nil
        } catch let e as DICOMInstanceError {
            return e.description
        }
    }

    func testAJPEGWithACorruptScanFails() throws {
        let src = try fx.makeUS("scan", ["--rows", "96", "--cols", "128"])
        let jpeg = try fx.encode(src.url, "dcmcjpeg", ["+eb"])
        XCTAssertNil(try decodeError(jpeg), "the intact JPEG decodes")
        // Overwrite bytes in the middle of the file (inside the entropy-coded scan).
        var data = try Data(contentsOf: jpeg)
        let middle = data.count - data.count / 4
        for i in stride(from: middle, to: middle + 60, by: 6) { data[i] = 0xFF; data[i + 1] = 0xD3 }
        let damaged = fx.file("damaged")
        try data.write(to: damaged)
        let error = try XCTUnwrap(try decodeError(damaged), "a damaged scan must not decode silently")
        XCTAssertTrue(error.contains("damaged data"), error)
        // The warnings of one frame are not carried into the next decode.
        XCTAssertNil(try decodeError(jpeg))
    }

    func testSamplesStoredInterleavedButDeclaredAsPlanesFail() throws {
        // Grey ultrasound stored as RGB: each pixel's samples are equal when read interleaved.
        let pixels = 64 * 48
        var interleaved = [UInt8](repeating: 0, count: 3 * pixels)
        for i in 0..<pixels {
            let v = UInt8((i * 7 + (i / 64) * 13) % 256)
            interleaved[3 * i] = v; interleaved[3 * i + 1] = v; interleaved[3 * i + 2] = v
        }
        XCTAssertTrue(PlanarLayoutCheck.declaredLayoutIsWrong(interleaved, pixels: pixels, declaredPlanar: true))
        XCTAssertFalse(PlanarLayoutCheck.declaredLayoutIsWrong(interleaved, pixels: pixels, declaredPlanar: false))
        // The same pixels stored as planes, declared as planes: right; declared interleaved: wrong.
        var planes = [UInt8](repeating: 0, count: 3 * pixels)
        for i in 0..<pixels { planes[i] = interleaved[3 * i]; planes[pixels + i] = interleaved[3 * i]; planes[2 * pixels + i] = interleaved[3 * i] }
        XCTAssertFalse(PlanarLayoutCheck.declaredLayoutIsWrong(planes, pixels: pixels, declaredPlanar: true))
        XCTAssertTrue(PlanarLayoutCheck.declaredLayoutIsWrong(planes, pixels: pixels, declaredPlanar: false))
        // Colour noise agrees in neither layout: never refused.
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<(3 * pixels)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        XCTAssertFalse(PlanarLayoutCheck.declaredLayoutIsWrong(noise, pixels: pixels, declaredPlanar: false))
        XCTAssertFalse(PlanarLayoutCheck.declaredLayoutIsWrong(noise, pixels: pixels, declaredPlanar: true))
    }

    func testAGreyRGBFileWithTheWrongPlanarConfigurationFailsToDecode() throws {
        // Grey ultrasound stored as interleaved RGB (pydicom, an independent writer), then the
        // same bytes declared as planes.
        let png = try XCTUnwrap(ImageFixtures.busiPNG("benign_001.png"), "needs the BUSI images")
        let right = fx.file("grey-rgb"), wrong = fx.file("grey-rgb-planar1")
        let script = """
        import sys, numpy as np
        from PIL import Image
        from pydicom.dataset import Dataset, FileMetaDataset
        from pydicom.uid import ExplicitVRLittleEndian, generate_uid
        g = np.asarray(Image.open(sys.argv[1]).convert("L"), dtype=np.uint8)
        for out, planar in ((sys.argv[2], 0), (sys.argv[3], 1)):
            ds = Dataset(); ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.6.1"; ds.SOPInstanceUID = generate_uid()
            ds.StudyInstanceUID = generate_uid(); ds.SeriesInstanceUID = generate_uid(); ds.Modality = "US"
            ds.Rows, ds.Columns = g.shape; ds.SamplesPerPixel = 3; ds.PhotometricInterpretation = "RGB"
            ds.PlanarConfiguration = planar; ds.BitsAllocated = 8; ds.BitsStored = 8; ds.HighBit = 7
            ds.PixelRepresentation = 0; ds.PixelData = np.stack([g, g, g], axis=-1).tobytes()
            ds.file_meta = FileMetaDataset(); ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID; ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.save_as(out, enforce_file_format=True)
        """
        try ImageFixtures.run("python3", ["-c", script, png, right.path, wrong.path])
        XCTAssertNil(try decodeError(right))
        let error = try XCTUnwrap(try decodeError(wrong))
        XCTAssertTrue(error.contains("Planar Configuration 1 does not match"), error)
    }
}
