import Analysis
import XCTest
@testable import ReadingRoom

/// The editor's geometry: the AI's SVG outlines as editable polygons, and edited polygons back
/// to a source-resolution mask and measurements.
final class ContourTests: XCTestCase {
    func testSVGPathOfTheTracerBecomesAPolygonOnTheSameOutline() throws {
        // A filled disc of radius 20 at (50, 40), traced and written as WeCare writes lesion.svg.
        var bits = [UInt8](repeating: 0, count: 100 * 80)
        for y in 0..<80 { for x in 0..<100 where hypot(Double(x) + 0.5 - 50, Double(y) + 0.5 - 40) <= 20 { bits[y * 100 + x] = 1 } }
        let mask = try Mask(width: 100, height: 80, bits: bits)
        let traced = try PotraceTracer().trace(mask)
        let d = SVGRenderer().pathData(traced[0])
        let polygons = ContourGeometry.polygons(fromSVGPath: d)
        XCTAssertEqual(polygons.count, 1)
        let pts = polygons[0].normalised
        XCTAssertGreaterThanOrEqual(pts.count, 8, "enough points to edit")
        XCTAssertLessThanOrEqual(pts.count, 80, "few enough to drag")
        for p in pts { XCTAssertEqual(hypot(p.x - 50, p.y - 40), 20, accuracy: 1.5, "\(p) on the circle") }
        // Back to pixels: the same disc, nearly pixel for pixel.
        let again = try ContourGeometry.mask(polygons, width: 100, height: 80)
        let same = zip(again.bits, bits).filter { $0 == $1 }.count
        XCTAssertGreaterThan(Double(same) / Double(bits.count), 0.99)
    }

    func testNegativeNumbersAndSeveralSubpathsParse() {
        let paths = ContourGeometry.parse("M1,2L3,-4 5-6Z M10,10L20,10 20,20Z")
        XCTAssertEqual(paths.count, 2)
        XCTAssertEqual(paths[0].start, Point2(1, 2))
        XCTAssertEqual(paths[0].segments.first?.end, Point2(3, -4))
        XCTAssertEqual(paths[0].segments.dropFirst().first?.end, Point2(5, -6))
    }

    func testMaskIsTheUnionAndMeasurementsUseTheSpacing() throws {
        // Two overlapping squares: even-odd filling would cut their overlap out; the union keeps it.
        let a = Contour(points: [[10, 10], [30, 10], [30, 30], [10, 30]])
        let b = Contour(points: [[20, 20], [40, 20], [40, 40], [20, 40]])
        let mask = try ContourGeometry.mask([a, b], width: 50, height: 50)
        XCTAssertEqual(mask.bits[25 * 50 + 25], 1, "the overlap is lesion")
        XCTAssertEqual(mask.bits.reduce(0) { $0 + Int($1) }, 400 + 400 - 100)
        // Clockwise or counter-clockwise, the same measurement.
        let m = ContourGeometry.measure(Contour(points: a.points.reversed()), spacing: PixelSpacing(row: 0.1, column: 0.1))
        XCTAssertEqual(m.areaMM2 ?? 0, 4, accuracy: 1e-6)
        XCTAssertEqual(m.longAxis.lengthMM ?? 0, 20 * 2.squareRoot() / 10, accuracy: 1e-6)
        XCTAssertNil(ContourGeometry.measure(a, spacing: nil).areaMM2, "no calibration: pixels only")
    }

    func testBrowserInputIsChecked() {
        XCTAssertThrowsError(try ContourGeometry.validate([Contour(points: [[1, 1], [2, 2]])], width: 10, height: 10)) {
            XCTAssertEqual($0 as? ContourError, .tooFewPoints(index: 0, count: 2))
        }
        XCTAssertThrowsError(try ContourGeometry.validate([Contour(points: [[1, 1], [20, 2], [3, 3]])], width: 10, height: 10)) {
            XCTAssertEqual($0 as? ContourError, .outside(index: 0, width: 10, height: 10))
        }
        XCTAssertThrowsError(try ContourGeometry.mask([Contour(points: [[1.1, 1.1], [1.2, 1.1], [1.2, 1.2]])], width: 10, height: 10)) {
            XCTAssertEqual($0 as? ContourError, .empty(index: 0))
        }
        XCTAssertNoThrow(try ContourGeometry.validate([Contour(points: [[0, 0], [10, 0], [10, 10]])], width: 10, height: 10))
    }
}
