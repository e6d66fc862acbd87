import XCTest
@testable import Analysis

final class MeasurementTests: XCTestCase {
    func testEllipseAxes() throws {
        let m = Shapes.mask(160, 120, Shapes.ellipse(cx: 80, cy: 60, rx: 60, ry: 30, angle: 0.3))
        let c = try PotraceTracer().trace(m)[0]
        let r = LesionMeasurement.measure(c, spacing: PixelSpacing(row: 0.1, column: 0.1))
        XCTAssertEqual(r.longAxis.lengthPixels, 120, accuracy: 1.5)
        XCTAssertEqual(r.longAxis.lengthMM!, 12, accuracy: 0.15)
        XCTAssertEqual(r.shortAxis.lengthPixels, 60, accuracy: 1.5)
        XCTAssertEqual(r.areaMM2!, Double.pi * 6 * 3, accuracy: 0.5)
        // Axes are perpendicular and the long one follows the ellipse's orientation.
        let u = r.longAxis.end - r.longAxis.start, v = r.shortAxis.end - r.shortAxis.start
        XCTAssertEqual(u.dot(v) / (u.length * v.length), 0, accuracy: 1e-6)
        XCTAssertEqual(abs(u.y / u.x), tan(0.3), accuracy: 0.05)
    }

    func testRectangleLongAxisIsTheDiagonal() throws {
        let m = Shapes.mask(140, 80) { x, y in x > 20 && x < 120 && y > 20 && y < 60 }
        let r = LesionMeasurement.measure(try PotraceTracer().trace(m)[0], spacing: nil)
        XCTAssertNil(r.longAxis.lengthMM)
        let diagonal: Double = (10_000.0 + 1_600.0).squareRoot()
        XCTAssertEqual(r.longAxis.lengthPixels, diagonal, accuracy: 0.5)
        // Longest chord perpendicular to the diagonal: 40 / cos(angle between it and y).
        let chord: Double = 40.0 * diagonal / 100.0
        XCTAssertEqual(r.shortAxis.lengthPixels, chord, accuracy: 0.5)
        XCTAssertEqual(r.areaPixels, 4000, accuracy: 1)
    }

    func testAnisotropicSpacingIsMeasuredInMillimetreSpace() throws {
        // 80 x 20 pixels at 0.1 mm columns and 0.4 mm rows: an 8 mm x 8 mm square.
        let m = Shapes.mask(120, 60) { x, y in x > 20 && x < 100 && y > 20 && y < 40 }
        let r = LesionMeasurement.measure(try PotraceTracer().trace(m)[0], spacing: PixelSpacing(row: 0.4, column: 0.1))
        XCTAssertEqual(r.longAxis.lengthMM!, 8 * 2.0.squareRoot(), accuracy: 0.05)
        XCTAssertEqual(r.shortAxis.lengthMM!, 8 * 2.0.squareRoot(), accuracy: 0.1, "a square's other diagonal")
        XCTAssertEqual(r.areaMM2!, 64, accuracy: 0.2)
        // Endpoints in pixels: the long axis joins opposite corners of the 80x20 box.
        let d = r.longAxis.end - r.longAxis.start
        XCTAssertEqual(abs(d.x), 80, accuracy: 0.5)
        XCTAssertEqual(abs(d.y), 20, accuracy: 0.5)
        // A circle in mm (ellipse 50 x 25 px at 0.1 x 0.2 mm) measures the same both ways.
        let e = Shapes.mask(130, 70, Shapes.ellipse(cx: 65, cy: 35, rx: 50, ry: 25))
        let rc = LesionMeasurement.measure(try PotraceTracer().trace(e)[0], spacing: PixelSpacing(row: 0.2, column: 0.1))
        XCTAssertEqual(rc.longAxis.lengthMM!, 10, accuracy: 0.15)
        XCTAssertEqual(rc.shortAxis.lengthMM!, 10, accuracy: 0.15)
    }

    func testAnalyzerFromModelOutputToMeasuredLesions() throws {
        // A 64x64 "model output" with one blob, for a field of view of 200x150 at (40, 30).
        var v = [Float](repeating: 0, count: 64 * 64)
        for y in 0..<64 { for x in 0..<64 where Shapes.disc(cx: 32, cy: 32, r: 16)(Double(x) + 0.5, Double(y) + 0.5) { v[y * 64 + x] = 1 } }
        let fov = PixelRect(x: 40, y: 30, width: 200, height: 150)
        let (masks, lesions) = try LesionAnalyzer().analyze(try ProbabilityMap(width: 64, height: 64, values: v), fieldOfView: fov,
                                                            imageWidth: 300, imageHeight: 220, spacing: PixelSpacing(row: 0.1, column: 0.1))
        XCTAssertEqual(lesions.count, 1)
        XCTAssertEqual(masks.mask.width, 300)
        let l = lesions[0]
        // Blob centre maps to (40 + 100, 30 + 75); radii 50 x 37.5 px.
        XCTAssertEqual(l.measurement.longAxis.lengthPixels, 100, accuracy: 3)
        XCTAssertEqual(l.measurement.shortAxis.lengthPixels, 75, accuracy: 3)
        XCTAssertEqual(Double(l.maskAreaPixels), Double.pi * 50 * 37.5, accuracy: 150)
        XCTAssertEqual(l.polyline.first, l.polyline.last)
        let xs = l.polyline.map(\.x), ys = l.polyline.map(\.y)
        XCTAssertEqual((xs.min()! + xs.max()!) / 2, 140, accuracy: 1)
        XCTAssertEqual((ys.min()! + ys.max()!) / 2, 105, accuracy: 1)
    }
}
