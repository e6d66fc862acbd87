/// Bitmap-to-vector tracing after P. Selinger, "Potrace: a polygon-based tracing
/// algorithm" (2003), implemented from the paper: path decomposition with a turn policy,
/// optimal polygon, vertex adjustment, smoothing with corner detection (alphaMax), and
/// curve optimization (optTolerance). Output: closed paths of lines and cubic Beziers at
/// sub-pixel precision, outer boundaries with their holes, one group per component.
public struct PotraceTracer: Sendable {
    /// How to resolve two traced pixels that touch only at a corner.
    public enum TurnPolicy: Sendable, Equatable {
        /// Join foreground pixels (foreground 8-connected; matches `MaskPostprocessor`).
        case black
        /// Join background pixels (foreground 4-connected).
        case white
        /// Always turn left / right (our walk keeps the traced colour on its right).
        case left, right
        /// Join whichever colour is locally in the minority / majority.
        case minority, majority
    }

    public var turnPolicy: TurnPolicy
    /// Paths enclosing this many pixels or fewer are dropped (Potrace `-t`; 0 keeps all).
    public var turdSize: Int
    /// Corner threshold (Potrace `-a`): larger gives fewer corners; 0 gives a polygon.
    public var alphaMax: Double
    /// Curve optimization tolerance in pixels (Potrace `-O`); nil disables optimization.
    public var optTolerance: Double?
    /// Refit Bezier control distances to the pixel boundary (not in the paper; see
    /// `BoundaryRefiner`). False gives plain Potrace output.
    public var refinesCurves: Bool

    public init(turnPolicy: TurnPolicy = .black, turdSize: Int = 0, alphaMax: Double = 1.0,
                optTolerance: Double? = 0.2, refinesCurves: Bool = true) {
        self.turnPolicy = turnPolicy; self.turdSize = turdSize
        self.alphaMax = alphaMax; self.optTolerance = optTolerance; self.refinesCurves = refinesCurves
    }

    /// Traces the foreground of `mask` (restricted to `region`, default the whole mask).
    /// Coordinates come out in the mask's pixel space mapped through `transform`.
    /// Components are ordered by enclosed pixel count, largest first.
    public func trace(_ mask: Mask, region: PixelRect? = nil,
                      transform: PixelTransform = .identity) throws -> [TracedComponent] {
        let r = region ?? PixelRect(x: 0, y: 0, width: mask.width, height: mask.height)
        guard r.fits(width: mask.width, height: mask.height) else {
            throw AnalysisError.regionOutside(r, width: mask.width, height: mask.height)
        }
        let paths = decompose(mask, region: r)
        let toSource = PixelTransform(scaleX: transform.scaleX, scaleY: transform.scaleY,
                                      offsetX: transform.offsetX + transform.scaleX * Double(r.x),
                                      offsetY: transform.offsetY + transform.scaleY * Double(r.y))
        // Group: each hole belongs to the smallest outer path containing its first pixel.
        var holesOf = [[Int]](repeating: [], count: paths.count)
        for (h, hole) in paths.enumerated() where !hole.isOuter {
            var parent = -1
            for (o, outer) in paths.enumerated() where outer.isOuter && outer.area > hole.area {
                if (parent < 0 || outer.area < paths[parent].area) && outer.containsPixelCentre(hole.seedX, hole.seedY) {
                    parent = o
                }
            }
            if parent >= 0 { holesOf[parent].append(h) }
        }
        var components: [(size: Int, order: Int, component: TracedComponent)] = []
        for (o, outer) in paths.enumerated() where outer.isOuter {
            let holes = holesOf[o].map { curve(paths[$0]).reversed() }
            let size = outer.area - holesOf[o].reduce(0) { $0 + paths[$1].area }
            components.append((size, o, TracedComponent(outer: curve(outer), holes: holes).transformed(toSource)))
        }
        components.sort { $0.size != $1.size ? $0.size > $1.size : $0.order < $1.order }
        return components.map(\.component)
    }

    /// One lattice path through stages 2-5, in the traced region's pixel space.
    func curve(_ path: LatticePath) -> ClosedPath {
        let sums = PathSums(path)
        let polygon = optimalPolygon(path, sums: sums)
        let origin = Point2(Double(path.xs[0]), Double(path.ys[0]))
        let vertices = adjustVertices(path, sums: sums, polygon: polygon).map { $0 + origin }
        let smoothed = smooth(vertices, alphaMax: alphaMax)
        var pieces = optTolerance.map { CurveOptimizer(smoothed, tolerance: $0).run() } ?? unoptimizedPieces(smoothed)
        if refinesCurves {
            let refiner = BoundaryRefiner(path: path, polygon: polygon)
            pieces = PieceMerger(refiner: refiner).merge(refiner.refine(pieces))
        }
        let start = pieces.last?.segments.last?.end ?? smoothed[0].end
        let merged = mergingCollinearLines(pieces.flatMap(\.segments), start: start)
        return ClosedPath(start: merged.start, segments: merged.segments, isHole: !path.isOuter)
    }

    /// The optimal polygon's vertices (stage 2 only), for tests and diagnostics.
    func polygonVertexCount(_ path: LatticePath) -> Int {
        optimalPolygon(path, sums: PathSums(path)).count
    }
}

/// Drops the midpoint between two straight pieces that continue in the same direction
/// (consecutive corners), so such runs cost one segment instead of two.
func mergingCollinearLines(_ segments: [PathSegment], start: Point2) -> (start: Point2, segments: [PathSegment]) {
    guard segments.count > 2 else { return (start, segments) }
    var out: [PathSegment] = []
    out.reserveCapacity(segments.count)
    var from = start
    var i = 0
    let n = segments.count
    while i < n {
        if case let .line(mid) = segments[i], i + 1 < n, case let .line(to) = segments[i + 1] {
            let a = mid - from, b = to - mid
            if abs(a.cross(b)) <= 1e-9 * (a.length * b.length) && a.dot(b) > 0 {
                // Replace the pair by one line; keep scanning from the merged piece.
                var merged = PathSegment.line(to: to)
                var k = i + 2
                while k < n, case let .line(next) = segments[k] {
                    let c = to - from, d = next - merged.end
                    guard abs(c.cross(d)) <= 1e-9 * (c.length * d.length), c.dot(d) > 0 else { break }
                    merged = .line(to: next); k += 1
                }
                out.append(merged); from = merged.end; i = k
                continue
            }
        }
        out.append(segments[i]); from = segments[i].end; i += 1
    }
    // The start itself may sit between two collinear lines: start at the first's end.
    if out.count > 2, case let .line(first) = out[0], out[out.count - 1] == .line(to: start) {
        let a = start - out[out.count - 2].end, b = first - start
        if abs(a.cross(b)) <= 1e-9 * (a.length * b.length) && a.dot(b) > 0 {
            out.removeFirst()
            out[out.count - 1] = .line(to: first)
            return (first, out)
        }
    }
    return (start, out)
}
