/// How faithfully traced paths reproduce a mask: used by tests and the vectorizer
/// benchmark, and usable as a runtime sanity check.
public struct TracingQuality: Equatable, Sendable {
    /// IoU of the even-odd re-rasterized paths against the mask.
    public var iou: Double
    /// Mean / max distance (px) from the midpoint of each unit edge of the mask's pixel
    /// boundary to the nearest point of the traced paths.
    public var meanBoundaryError: Double
    public var maxBoundaryError: Double
    public var outerCount: Int
    public var holeCount: Int
    /// Straight and Bezier segments over all paths.
    public var segmentCount: Int

    /// `components` must be in the mask's pixel space.
    public static func evaluate(_ components: [TracedComponent], against mask: Mask) throws -> TracingQuality {
        let paths = components.flatMap(\.paths)
        let raster = try PathRasterizer.rasterize(paths, width: mask.width, height: mask.height)
        let iou = try raster.iou(mask)
        let (mean, maxError) = boundaryError(paths, mask: mask)
        return TracingQuality(iou: iou, meanBoundaryError: mean, maxBoundaryError: maxError,
                              outerCount: components.count, holeCount: components.reduce(0) { $0 + $1.holes.count },
                              segmentCount: components.reduce(0) { $0 + $1.segmentCount })
    }

    static func boundaryError(_ paths: [ClosedPath], mask: Mask) -> (mean: Double, max: Double) {
        let w = mask.width, h = mask.height
        func at(_ x: Int, _ y: Int) -> UInt8 { x < 0 || y < 0 || x >= w || y >= h ? 0 : mask.bits[y * w + x] }
        var probes: [Point2] = []
        for y in 0...h {
            for x in 0...w {
                if x < w && at(x, y - 1) != at(x, y) { probes.append(Point2(Double(x) + 0.5, Double(y))) }
                if y < h && at(x - 1, y) != at(x, y) { probes.append(Point2(Double(x), Double(y) + 0.5)) }
            }
        }
        if probes.isEmpty { return (0, 0) }
        var segments: [(Point2, Point2)] = []
        for p in paths {
            let pts = p.polyline(maxDeviation: 0.01)
            for i in 0..<(pts.count - 1) { segments.append((pts[i], pts[i + 1])) }
        }
        if segments.isEmpty { return (.infinity, .infinity) }
        // Uniform grid of 2 px cells over segment bounding boxes.
        let cell = 2.0
        let gw = w / 2 + 3, gh = h / 2 + 3
        var grid = [[Int32]](repeating: [], count: gw * gh)
        func cellIndex(_ v: Double, _ limit: Int) -> Int { min(max(Int((v / cell).rounded(.down)) + 1, 0), limit - 1) }
        for (k, s) in segments.enumerated() {
            for gy in cellIndex(min(s.0.y, s.1.y), gh)...cellIndex(max(s.0.y, s.1.y), gh) {
                for gx in cellIndex(min(s.0.x, s.1.x), gw)...cellIndex(max(s.0.x, s.1.x), gw) { grid[gy * gw + gx].append(Int32(k)) }
            }
        }
        var sum = 0.0, worst = 0.0
        for q in probes {
            let cx = cellIndex(q.x, gw), cy = cellIndex(q.y, gh)
            var best = Double.infinity
            for gy in max(0, cy - 1)...min(gh - 1, cy + 1) {
                for gx in max(0, cx - 1)...min(gw - 1, cx + 1) {
                    for k in grid[gy * gw + gx] { best = min(best, distance(q, segments[Int(k)])) }
                }
            }
            // Anything farther than one cell may live outside the 3x3 block: check all.
            if best > cell { for s in segments { best = min(best, distance(q, s)) } }
            sum += best; worst = max(worst, best)
        }
        return (sum / Double(probes.count), worst)
    }

    @inline(__always) static func distance(_ q: Point2, _ s: (Point2, Point2)) -> Double {
        let d = s.1 - s.0, l2 = d.dot(d)
        let t = l2 == 0 ? 0 : min(1, max(0, (q - s.0).dot(d) / l2))
        return (q - (s.0 + t * d)).length
    }
}
