import XCTest
@testable import Analysis

final class ResizeTests: XCTestCase {
    func testDownsizeMatchesHandComputedWindows() throws {
        // 3x3 -> 2x2: row/col windows [0,2) and [1,3) overlap in the middle.
        let img = try GrayImage(width: 3, height: 3, pixels: [0, 51, 102, 153, 204, 255, 0, 0, 255])
        let out = try img.resizedAdaptiveAverage(width: 2, height: 2)
        XCTAssertEqual(out[0], 0.4, accuracy: 1e-6)   // (0+51+153+204)/4/255
        XCTAssertEqual(out[1], 0.6, accuracy: 1e-6)   // (51+102+204+255)/4/255
        XCTAssertEqual(out[2], 0.35, accuracy: 1e-6)  // (153+204+0+0)/4/255
        XCTAssertEqual(out[3], 0.7, accuracy: 1e-6)   // (204+255+0+255)/4/255
    }

    func testUpsizeUsesOverlappingWindows() throws {
        // 2x1 -> 3x1: windows [0,1), [0,2), [1,2).
        let img = try GrayImage(width: 2, height: 1, pixels: [0, 255])
        let out = try img.resizedAdaptiveAverage(width: 3, height: 1)
        XCTAssertEqual(out, [0, 0.5, 1])
    }

    func testKnownNumericCaseAgainstDoubleReference() throws {
        // 7x5 ramp to 3x4 (mixed down/up), compared with a Double re-derivation.
        let w = 7, h = 5, ow = 3, oh = 4
        let px = (0..<(w * h)).map { UInt8(($0 * 37) % 256) }
        let out = try GrayImage(width: w, height: h, pixels: px).resizedAdaptiveAverage(width: ow, height: oh)
        for oy in 0..<oh {
            for ox in 0..<ow {
                let y0 = Int(floor(Double(oy * h) / Double(oh))), y1 = Int(ceil(Double((oy + 1) * h) / Double(oh)))
                let x0 = Int(floor(Double(ox * w) / Double(ow))), x1 = Int(ceil(Double((ox + 1) * w) / Double(ow)))
                var s = 0.0
                for y in y0..<y1 { for x in x0..<x1 { s += Double(px[y * w + x]) / 255 } }
                XCTAssertEqual(Double(out[oy * ow + ox]), s / Double((y1 - y0) * (x1 - x0)), accuracy: 1e-6)
            }
        }
        XCTAssertEqual(adaptiveWindows(input: 5, output: 4).map { [$0.start, $0.end] }, [[0, 2], [1, 3], [2, 4], [3, 5]])
    }

    /// The pooling keeps PyTorch's Float32 order (rows, then columns within a row, then divide
    /// by height and by width), so it matches a plain loop written that way to the bit, on
    /// odd sizes, down and up, for bytes and for Float planes.
    func testSameBitsAsAPlainLoopInPyTorchsOrder() throws {
        var rng = SystemRandomNumberGenerator()
        for (w, h, ow, oh) in [(562, 471, 256, 256), (97, 301, 64, 80), (31, 17, 64, 40), (256, 256, 256, 256)] {
            let px = (0..<(w * h)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var expected = [Float](repeating: 0, count: ow * oh)
            let rows = adaptiveWindows(input: h, output: oh), cols = adaptiveWindows(input: w, output: ow)
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var sum: Float = 0
                    for y in rows[oy].start..<rows[oy].end {
                        for x in cols[ox].start..<cols[ox].end { sum += Float(px[y * w + x]) / 255 }
                    }
                    expected[oy * ow + ox] = sum / Float(rows[oy].end - rows[oy].start) / Float(cols[ox].end - cols[ox].start)
                }
            }
            let got = try GrayImage(width: w, height: h, pixels: px).resizedAdaptiveAverage(width: ow, height: oh)
            XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), "\(w)x\(h) -> \(ow)x\(oh)")
            let plane = try resizeAdaptiveAverage(px.map { Float($0) / 255 }, width: w, height: h, outWidth: ow, outHeight: oh)
            XCTAssertEqual(plane.map(\.bitPattern), expected.map(\.bitPattern), "plane \(w)x\(h) -> \(ow)x\(oh)")
        }
    }

    func testIdentitySizeReturnsScaledPixels() throws {
        let px: [UInt8] = [0, 10, 128, 255]
        let out = try GrayImage(width: 2, height: 2, pixels: px).resizedAdaptiveAverage(width: 2, height: 2)
        XCTAssertEqual(out, px.map { Float($0) / 255 })
    }

    func testCropTakesTheFieldOfView() throws {
        let img = try GrayImage(width: 4, height: 3, pixels: Array(0..<12))
        let c = try img.cropped(to: PixelRect(x: 1, y: 1, width: 2, height: 2))
        XCTAssertEqual(c.pixels, [5, 6, 9, 10])
        XCTAssertThrowsError(try img.cropped(to: PixelRect(x: 3, y: 0, width: 2, height: 1)))
    }

    func testBilinearMatchesHalfPixelConvention() throws {
        // PyTorch: interpolate([[0,1],[2,3]], size=4, bilinear, align_corners=False).
        let map = try ProbabilityMap(width: 2, height: 2, values: [0, 1, 2, 3])
        let up = try map.resizedBilinear(width: 4, height: 4)
        let expected: [Float] = [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]
        for (a, b) in zip(up.values, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testPlacedBilinearLandsAtTheFieldOfViewOffset() throws {
        let map = try ProbabilityMap(width: 2, height: 2, values: [1, 1, 1, 1])
        let placed = try map.placedBilinear(in: PixelRect(x: 2, y: 1, width: 3, height: 2), canvasWidth: 6, canvasHeight: 4)
        for y in 0..<4 {
            for x in 0..<6 {
                let inside = (2..<5).contains(x) && (1..<3).contains(y)
                XCTAssertEqual(placed[x, y], inside ? 1 : 0, "pixel \(x),\(y)")
            }
        }
    }
}
