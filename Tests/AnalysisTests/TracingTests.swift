import XCTest
@testable import Analysis

final class TracingTests: XCTestCase {
    let tracer = PotraceTracer()

    private func check(_ name: String, _ mask: Mask, outers: Int, holes: Int, minIoU: Double = 0.995,
                       maxMeanError: Double = 0.25, file: StaticString = #filePath, line: UInt = #line) throws -> [TracedComponent] {
        let traced = try tracer.trace(mask)
        let q = try TracingQuality.evaluate(traced, against: mask)
        XCTAssertEqual(q.outerCount, outers, "\(name): outer boundaries", file: file, line: line)
        XCTAssertEqual(q.holeCount, holes, "\(name): holes", file: file, line: line)
        XCTAssertGreaterThanOrEqual(q.iou, minIoU, "\(name): IoU", file: file, line: line)
        XCTAssertLessThanOrEqual(q.meanBoundaryError, maxMeanError, "\(name): mean boundary error", file: file, line: line)
        for c in traced {
            XCTAssertGreaterThan(c.outer.signedArea(), 0, "\(name): outer runs clockwise on screen", file: file, line: line)
            XCTAssertFalse(c.outer.isHole, file: file, line: line)
            for h in c.holes {
                XCTAssertLessThan(h.signedArea(), 0, "\(name): holes run the other way", file: file, line: line)
                XCTAssertTrue(h.isHole, file: file, line: line)
            }
        }
        return traced
    }

    func testDisc() throws {
        let traced = try check("disc", Shapes.mask(100, 100, Shapes.disc(cx: 50, cy: 50, r: 40)), outers: 1, holes: 0)
        // A smooth shape needs few segments, mostly curves.
        XCTAssertLessThan(traced[0].segmentCount, 20)
        XCTAssertEqual(traced[0].area(), Double.pi * 1600, accuracy: Double.pi * 1600 * 0.01)
    }

    func testRotatedEllipse() throws {
        _ = try check("ellipse", Shapes.mask(120, 100, Shapes.ellipse(cx: 60, cy: 50, rx: 45, ry: 25, angle: 0.5)), outers: 1, holes: 0)
    }

    func testSquareKeepsItsCorners() throws {
        let m = Shapes.mask(50, 50) { x, y in x > 10 && x < 40 && y > 10 && y < 40 }
        let traced = try check("square", m, outers: 1, holes: 0, minIoU: 1)
        // Four corners: four straight sides after merging collinear pieces.
        XCTAssertEqual(traced[0].outer.segments.count, 4)
        XCTAssertTrue(traced[0].outer.segments.allSatisfy { if case .line = $0 { return true } else { return false } })
    }

    func testRingHasOneHole() throws {
        let m = Shapes.mask(90, 90) { x, y in
            let r2 = (x - 45) * (x - 45) + (y - 45) * (y - 45)
            return r2 <= 35 * 35 && r2 >= 15 * 15
        }
        let traced = try check("ring", m, outers: 1, holes: 1)
        XCTAssertEqual(traced[0].area(), Double.pi * (35 * 35 - 15 * 15), accuracy: 40)
    }

    func testTwoBlobsLargestFirst() throws {
        let big = Shapes.disc(cx: 30, cy: 30, r: 20), small = Shapes.ellipse(cx: 80, cy: 60, rx: 12, ry: 8)
        let traced = try check("two blobs", Shapes.mask(110, 80) { big($0, $1) || small($0, $1) }, outers: 2, holes: 0)
        XCTAssertGreaterThan(traced[0].area(), traced[1].area())
        XCTAssertLessThan(traced[0].outer.start.x, 55)
    }

    func testIslandInsideHoleIsItsOwnComponent() throws {
        let m = Shapes.mask(80, 80) { x, y in
            let r2 = (x - 40) * (x - 40) + (y - 40) * (y - 40)
            return (r2 <= 35 * 35 && r2 >= 20 * 20) || r2 <= 8 * 8
        }
        let traced = try check("island", m, outers: 2, holes: 1)
        XCTAssertEqual(traced[0].holes.count, 1, "the ring owns the hole")
        XCTAssertEqual(traced[1].holes.count, 0)
    }

    func testOddSizesAndBorderContact() throws {
        _ = try check("odd", Shapes.mask(37, 23, Shapes.ellipse(cx: 18.5, cy: 11.5, rx: 17, ry: 10)), outers: 1, holes: 0, minIoU: 0.99)
        // Disc cut by the left and top image borders.
        _ = try check("border", Shapes.mask(61, 47, Shapes.disc(cx: 5, cy: 3, r: 30)), outers: 1, holes: 0)
        // Whole image set.
        _ = try check("full", Shapes.mask(40, 30) { _, _ in true }, outers: 1, holes: 0, minIoU: 1)
    }

    func testSinglePixel() throws {
        let m = Shapes.mask(5, 5) { x, y in x == 2.5 && y == 2.5 }
        let traced = try check("pixel", m, outers: 1, holes: 0, minIoU: 1, maxMeanError: 0.5)
        XCTAssertGreaterThan(traced[0].area(), 0.3)
        XCTAssertLessThan(traced[0].area(), 1.5)
    }

    func testDiagonalPixelsFollowTheTurnPolicy() throws {
        let m = try Mask(width: 4, height: 4, bits: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(try PotraceTracer(turnPolicy: .black).trace(m).count, 1)
        XCTAssertEqual(try PotraceTracer(turnPolicy: .white).trace(m).count, 2)
    }

    func testTurdSizeDropsSpecks() throws {
        let m = Shapes.mask(40, 40) { x, y in Shapes.disc(cx: 20, cy: 20, r: 10)(x, y) || (x < 2 && y < 2) }
        XCTAssertEqual(try PotraceTracer().trace(m).count, 2)
        XCTAssertEqual(try PotraceTracer(turdSize: 4).trace(m).count, 1)
    }

    func testTransformMapsToSourcePixels() throws {
        let m = Shapes.mask(40, 30, Shapes.ellipse(cx: 20, cy: 15, rx: 15, ry: 10))
        let plain = try tracer.trace(m)[0]
        let t = PixelTransform(scaleX: 2, scaleY: 3, offsetX: 100, offsetY: 50)
        let mapped = try tracer.trace(m, transform: t)[0]
        XCTAssertEqual(mapped.area(), plain.area() * 6, accuracy: plain.area() * 0.01)
        XCTAssertEqual(mapped.outer.start.x, 100 + 2 * plain.outer.start.x, accuracy: 1e-9)
        XCTAssertEqual(mapped.outer.start.y, 50 + 3 * plain.outer.start.y, accuracy: 1e-9)
        // Tracing a region gives the same outline in the same (uncropped) coordinates.
        let region = try tracer.trace(m, region: PixelRect(x: 4, y: 4, width: 33, height: 23))[0]
        XCTAssertEqual(region.area(), plain.area(), accuracy: 1e-6)
        XCTAssertEqual(region.outer.start.x, plain.outer.start.x, accuracy: 1e-9)
        XCTAssertEqual(region.outer.start.y, plain.outer.start.y, accuracy: 1e-9)
    }

    func testUnoptimizedAndPolygonModes() throws {
        let m = Shapes.mask(100, 100, Shapes.disc(cx: 50, cy: 50, r: 40))
        let optimized = try tracer.trace(m)[0]
        let raw = try PotraceTracer(optTolerance: nil).trace(m)[0]
        XCTAssertGreaterThan(raw.segmentCount, optimized.segmentCount, "optimization joins curve segments")
        let polygon = try PotraceTracer(alphaMax: 0).trace(m)[0]
        XCTAssertTrue(polygon.outer.segments.allSatisfy { if case .line = $0 { return true } else { return false } })
        XCTAssertGreaterThan(try TracingQuality.evaluate([polygon], against: m).iou, 0.99)
    }

    func testReversedPathHasOppositeArea() throws {
        let c = try tracer.trace(Shapes.mask(30, 30, Shapes.disc(cx: 15, cy: 15, r: 10)))[0]
        XCTAssertEqual(c.outer.reversed().signedArea(), -c.outer.signedArea(), accuracy: 1e-6)
    }

    /// Lesion-like shapes at the benchmark's scale: a disc, a rotated ellipse, a lobulated
    /// and a spiculated blob (radius modulated by harmonics), one with a hole.
    private func lesions() -> [(String, Mask)] {
        func blob(_ cx: Double, _ cy: Double, _ base: Double, _ harmonics: [(k: Double, amp: Double, phase: Double)],
                  hole: Bool = false) -> (Double, Double) -> Bool {
            { x, y in
                let dx = x - cx, dy = y - cy, theta = atan2(dy, dx)
                var r = base
                for h in harmonics { r *= 1 + h.amp * cos(h.k * theta + h.phase) }
                let inHole = hole && (dx - base * 0.2) * (dx - base * 0.2) + dy * dy <= base * base * 0.0625
                return dx * dx + dy * dy <= r * r && !inHole
            }
        }
        let lobes = [(2.0, 0.1, 0.3), (3, 0.08, 1.1), (5, 0.06, 2.0)].map { (k: $0.0, amp: $0.1, phase: $0.2) }
        let spikes = (2...23).map { (k: Double($0), amp: 0.04, phase: Double($0) * 0.7) }
        return [("disc", Shapes.mask(240, 240, Shapes.disc(cx: 120, cy: 120, r: 100))),
                ("ellipse", Shapes.mask(300, 200, Shapes.ellipse(cx: 150, cy: 100, rx: 130, ry: 60, angle: 0.4))),
                ("lobulated", Shapes.mask(300, 300, blob(150, 150, 110, lobes))),
                ("spiculated", Shapes.mask(260, 260, blob(130, 130, 100, spikes))),
                ("with hole", Shapes.mask(260, 260, blob(130, 130, 100, lobes, hole: true)))]
    }

    func testJoiningCurvesNeverAddsSegmentsAndKeepsIoU() throws {
        var ours = 0, potrace = 0
        for (name, m) in lesions() {
            let traced = try tracer.trace(m)
            // Without refinement nothing is joined either: plain Potrace's segment count.
            let plain = try PotraceTracer(refinesCurves: false).trace(m)
            let q = try TracingQuality.evaluate(traced, against: m), p = try TracingQuality.evaluate(plain, against: m)
            XCTAssertLessThanOrEqual(q.segmentCount, p.segmentCount, "\(name): never more segments")
            ours += q.segmentCount; potrace += p.segmentCount
            XCTAssertGreaterThanOrEqual(q.iou, 0.995, name)
            XCTAssertGreaterThanOrEqual(q.iou, p.iou, "\(name): no worse than plain Potrace")
            XCTAssertLessThanOrEqual(q.meanBoundaryError, 0.25, name)
            XCTAssertEqual([q.outerCount, q.holeCount], [p.outerCount, p.holeCount], name)
        }
        XCTAssertLessThan(ours, potrace, "some curves are joined")
    }

    func testJoinedCurvesStayNearTheBoundary() throws {
        // On the spiculated blob some refined curves are joined; the joined path is no
        // further from the boundary samples than the merger's bounds allow.
        let m = lesions()[3].1
        let path = tracer.decompose(m, region: PixelRect(x: 0, y: 0, width: m.width, height: m.height))[0]
        let sums = PathSums(path)
        let polygon = optimalPolygon(path, sums: sums)
        let origin = Point2(Double(path.xs[0]), Double(path.ys[0]))
        let smoothed = smooth(adjustVertices(path, sums: sums, polygon: polygon).map { $0 + origin }, alphaMax: 1)
        let refiner = BoundaryRefiner(path: path, polygon: polygon)
        let refined = refiner.refine(CurveOptimizer(smoothed, tolerance: 0.2).run())
        let merger = PieceMerger(refiner: refiner)
        let joined = merger.merge(refined)
        XCTAssertLessThan(joined.count, refined.count)
        func stats(_ pieces: [CurvePiece]) -> (worst: Double, mean: Double) {
            var worst = 0.0, squares = 0.0, count = 0
            for (k, piece) in pieces.enumerated() {
                guard piece.segments.count == 1, case let .cubic(c1, c2, end) = piece.segments[0] else { continue }
                let start = pieces[(k - 1 + pieces.count) % pieces.count].segments.last!.end
                let to = piece.to + (piece.to <= piece.from ? refiner.boundaryCount : 0)
                let data = refiner.samples(from: refiner.position(piece.from), to: refiner.position(to))
                let d = distances(start, c1, c2, end, data)
                worst = max(worst, d.worst); squares += d.sumOfSquares; count += data.count
            }
            return (worst, squares / Double(count))
        }
        let before = stats(refined.map(\.piece)), after = stats(joined)
        XCTAssertLessThanOrEqual(after.worst, max(merger.limit, before.worst) + merger.slack)
        XCTAssertLessThanOrEqual(after.mean, before.mean * merger.meanGrowth + 1e-3)
    }
}
