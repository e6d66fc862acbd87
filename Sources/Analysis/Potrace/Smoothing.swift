/// Potrace stage 4 (section 2.4): turn the adjusted polygon into a curve. Segment i runs
/// from the midpoint of edge (i-1, i) to the midpoint of edge (i, i+1), past vertex i:
/// a corner (two straight pieces through the vertex) when the polygon bends too sharply
/// there (alpha >= alphaMax), else a cubic Bezier whose control points sit at alpha of the
/// way from those midpoints to the vertex.
struct SmoothSegment {
    var isCorner: Bool
    var vertex: Point2
    var control1: Point2
    var control2: Point2
    var end: Point2
    /// Clamped alpha used for the control points (curves only).
    var alpha: Double
}

@inline(__always) func parallelogramArea(_ a: Point2, _ b: Point2, _ c: Point2) -> Double {
    (b - a).cross(c - a)
}

func smooth(_ vertices: [Point2], alphaMax: Double) -> [SmoothSegment] {
    let m = vertices.count
    var out: [SmoothSegment] = []
    out.reserveCapacity(m)
    for j in 0..<m {
        let prev = vertices[(j - 1 + m) % m], v = vertices[j], next = vertices[(j + 1) % m]
        let end = Point2.lerp(v, next, 0.5)
        // Distance of v from the chord prev-next, relative to the chord's L1 length: how
        // far the corner pokes out of the unit-square band the path came from.
        let denom = abs(next.x - prev.x) + abs(next.y - prev.y)
        var alpha: Double
        if denom != 0 {
            let dd = abs(parallelogramArea(prev, v, next)) / denom
            alpha = dd > 1 ? (1 - 1 / dd) / 0.75 : 0
        } else {
            alpha = 4.0 / 3.0
        }
        if alpha >= alphaMax {
            out.append(SmoothSegment(isCorner: true, vertex: v, control1: v, control2: v, end: end, alpha: alpha))
        } else {
            alpha = min(max(alpha, 0.55), 1)
            out.append(SmoothSegment(isCorner: false, vertex: v,
                                     control1: Point2.lerp(prev, v, 0.5 + 0.5 * alpha),
                                     control2: Point2.lerp(next, v, 0.5 + 0.5 * alpha),
                                     end: end, alpha: alpha))
        }
    }
    return out
}
