import XCTest
@testable import Analysis

final class OutputTests: XCTestCase {
    func testNumberFormattingIsCompact() {
        let svg = SVGRenderer()
        XCTAssertEqual(svg.format(1.5), "1.5")
        XCTAssertEqual(svg.format(2.0), "2")
        XCTAssertEqual(svg.format(-0.004), "0")
        XCTAssertEqual(svg.format(3.14159), "3.14")
        XCTAssertEqual(svg.format(-12.305), "-12.31")
        XCTAssertEqual(svg.format(0.05), "0.05")
        XCTAssertEqual(SVGRenderer(fractionDigits: 3).format(7.0004), "7")
    }

    func testSVGHasOnePathPerLesionWithHolesAsSubpaths() throws {
        let ring = Shapes.mask(120, 80) { x, y in
            let r2 = (x - 40) * (x - 40) + (y - 40) * (y - 40)
            return (r2 <= 30 * 30 && r2 >= 12 * 12) || Shapes.disc(cx: 100, cy: 40, r: 10)(x, y)
        }
        let traced = try PotraceTracer().trace(ring)
        let doc = SVGRenderer().document(traced, width: 120, height: 80)
        XCTAssertTrue(doc.contains(#"viewBox="0 0 120 80""#))
        XCTAssertEqual(doc.components(separatedBy: "<path ").count - 1, 2)
        XCTAssertEqual(doc.components(separatedBy: #"fill-rule="evenodd""#).count - 1, 2)
        let d = SVGRenderer().pathData(traced[0])
        XCTAssertTrue(d.hasPrefix("M"))
        XCTAssertTrue(d.hasSuffix("Z"))
        XCTAssertEqual(d.filter { $0 == "M" }.count, 2, "outer + hole")
        XCTAssertEqual(d.filter { $0 == "Z" }.count, 2)
        XCTAssertTrue(d.contains("C"))
    }

    func testPolylineIsClosedAndWithinTolerance() throws {
        let m = Shapes.mask(100, 100, Shapes.disc(cx: 50, cy: 50, r: 40))
        let c = try PotraceTracer().trace(m)[0]
        let fine = c.outer.polyline(maxDeviation: 0.05), coarse = c.outer.polyline(maxDeviation: 0.5)
        XCTAssertEqual(fine.first, fine.last)
        XCTAssertEqual(coarse.first, coarse.last)
        XCTAssertGreaterThan(fine.count, coarse.count)
        // Every vertex of the coarse polyline lies on the circle within half a pixel.
        for p in coarse { XCTAssertEqual(((p - Point2(50, 50)).length), 40, accuracy: 0.75) }
        // Chord midpoints stay within the requested deviation of the fine curve.
        for i in 0..<(coarse.count - 1) {
            let mid = Point2.lerp(coarse[i], coarse[i + 1], 0.5)
            var best = Double.infinity
            for j in 0..<(fine.count - 1) { best = min(best, TracingQuality.distance(mid, (fine[j], fine[j + 1]))) }
            XCTAssertLessThanOrEqual(best, 0.5 + 0.05)
        }
    }

    func testRasterizerFillsEvenOdd() throws {
        let outer = ClosedPath(start: Point2(1, 1), segments: [.line(to: Point2(9, 1)), .line(to: Point2(9, 9)),
                                                              .line(to: Point2(1, 9)), .line(to: Point2(1, 1))], isHole: false)
        let inner = ClosedPath(start: Point2(3, 3), segments: [.line(to: Point2(7, 3)), .line(to: Point2(7, 7)),
                                                              .line(to: Point2(3, 7)), .line(to: Point2(3, 3))], isHole: true)
        let m = try PathRasterizer.rasterize([outer, inner], width: 10, height: 10)
        XCTAssertEqual(m.foregroundCount, 64 - 16)
        XCTAssertTrue(m[1, 1]); XCTAssertFalse(m[0, 0]); XCTAssertFalse(m[5, 5]); XCTAssertTrue(m[8, 8]); XCTAssertFalse(m[9, 9])
    }
}
