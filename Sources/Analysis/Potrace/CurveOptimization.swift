import Foundation

/// Potrace stage 5 (section 2.5): replace runs of consecutive Bezier segments by single
/// Beziers where that stays within `tolerance` of the original, fewest segments first,
/// then least squared deviation (dynamic programming).
///
/// A run may be joined only if every segment bends the same way (convex), the total turn
/// stays under 179 degrees, the joined curve encloses the same area against its chord,
/// and, at each original edge, the point of the joined curve with the edge's tangent lies
/// within `tolerance` of that edge and not inside the original curve by more than it.
struct JoinedCurve {
    var control1: Point2, control2: Point2
    var penalty: Double
}

private let cos179 = cos(179.0 * Double.pi / 180)

@inline(__always) private func signum(_ v: Double) -> Int { v > 0 ? 1 : (v < 0 ? -1 : 0) }

/// Where the cubic's tangent is parallel to q0 -> q1, as a parameter in [0, 1]; nil if never.
private func parallelTangent(_ p0: Point2, _ p1: Point2, _ p2: Point2, _ p3: Point2,
                             _ q0: Point2, _ q1: Point2) -> Double? {
    let d = q1 - q0
    let a0 = (p1 - p0).cross(d), a1 = (p2 - p1).cross(d), a2 = (p3 - p2).cross(d)
    // The derivative's cross with d is a quadratic in t with these coefficients.
    let a = a0 - 2 * a1 + a2, b = -2 * a0 + 2 * a1, c = a0
    let disc = b * b - 4 * a * c
    if a == 0 || disc < 0 {
        if a == 0 && b != 0 {
            let t = -c / b
            return (0...1).contains(t) ? t : nil
        }
        return nil
    }
    let r = disc.squareRoot()
    let t1 = (-b + r) / (2 * a), t2 = (-b - r) / (2 * a)
    if (0...1).contains(t1) { return t1 }
    if (0...1).contains(t2) { return t2 }
    return nil
}

@inline(__always) func bezierPoint(_ t: Double, _ p0: Point2, _ p1: Point2, _ p2: Point2, _ p3: Point2) -> Point2 {
    let s = 1 - t
    let a = s * s * s, b = 3 * s * s * t, c = 3 * s * t * t, d = t * t * t
    return Point2(a * p0.x + b * p1.x + c * p2.x + d * p3.x, a * p0.y + b * p1.y + c * p2.y + d * p3.y)
}

struct CurveOptimizer {
    let seg: [SmoothSegment]
    let tolerance: Double
    private var convexity: [Int]
    /// Cumulative signed area (x2) swept from vertex 0 by segments 0..<i.
    private var areaPrefix: [Double]

    init(_ seg: [SmoothSegment], tolerance: Double) {
        self.seg = seg; self.tolerance = tolerance
        let m = seg.count
        convexity = (0..<m).map { i in
            seg[i].isCorner ? 0 : signum(parallelogramArea(seg[(i - 1 + m) % m].vertex, seg[i].vertex, seg[(i + 1) % m].vertex))
        }
        areaPrefix = [0]
        let origin = seg[0].vertex
        for i in 0..<m {
            let i1 = (i + 1) % m
            let a = seg[i].end, v = seg[i1].vertex, b = seg[i1].end
            var add: Double
            if seg[i1].isCorner {
                add = parallelogramArea(origin, a, v) + parallelogramArea(origin, v, b)
            } else {
                let alpha = seg[i1].alpha
                add = 0.3 * alpha * (4 - alpha) * parallelogramArea(a, v, b) + parallelogramArea(origin, a, b)
            }
            areaPrefix.append(areaPrefix[i] + add / 2)
        }
    }

    /// Try to join segments i+1 ... j (from seg[i].end to seg[j].end) into one Bezier.
    func join(_ i: Int, _ j: Int) -> JoinedCurve? {
        let m = seg.count
        if i == j { return nil }
        let i1 = (i + 1) % m
        let conv = convexity[i1]
        if conv == 0 { return nil }
        let d = (seg[i1].vertex - seg[i].vertex).length
        var k = i1
        while k != j {
            let k1 = (k + 1) % m, k2 = (k + 2) % m
            if convexity[k1] != conv { return nil }
            let e0 = seg[i1].vertex - seg[i].vertex, e1 = seg[k2].vertex - seg[k1].vertex
            if signum(e0.cross(e1)) != conv { return nil }
            if e0.dot(e1) < d * e1.length * cos179 { return nil }
            k = k1
        }
        let p0 = seg[i].end, p1 = seg[i1].vertex, p2 = seg[j].vertex, p3 = seg[j].end
        var area = areaPrefix[j] - areaPrefix[i] - parallelogramArea(seg[0].vertex, p0, p3) / 2
        if i >= j { area += areaPrefix[m] }
        // Apex o = intersection of lines p0p1 and p2p3; triangle (p0, o, p3).
        let a1 = parallelogramArea(p0, p1, p2), a2 = parallelogramArea(p0, p1, p3)
        let a3 = parallelogramArea(p0, p2, p3), a4 = a1 + a3 - a2
        if a2 == a1 { return nil }
        let t = a3 / (a3 - a4), s = a2 / (a2 - a1)
        let triangle = a2 * t / 2
        if triangle == 0 { return nil }
        let ratio = area / triangle
        let root = 4 - ratio / 0.3
        if root < 0 { return nil }
        let alpha = 2 - root.squareRoot()
        let c1 = Point2.lerp(p0, p1, t * alpha), c2 = Point2.lerp(p3, p2, s * alpha)
        var penalty = 0.0
        // Distance to each original polygon edge, at the parallel tangent.
        k = i1
        while k != j {
            let k1 = (k + 1) % m
            let q0 = seg[k].vertex, q1 = seg[k1].vertex
            guard let tt = parallelTangent(p0, c1, c2, p3, q0, q1) else { return nil }
            let pt = bezierPoint(tt, p0, c1, c2, p3)
            let len = (q1 - q0).length
            if len == 0 { return nil }
            let dist = parallelogramArea(q0, q1, pt) / len
            if abs(dist) > tolerance { return nil }
            if (q1 - q0).dot(pt - q0) < 0 || (q0 - q1).dot(pt - q1) < 0 { return nil }
            penalty += dist * dist
            k = k1
        }
        // Distance to each original segment, measured along its chord's normal.
        k = i
        while k != j {
            let k1 = (k + 1) % m
            let q0 = seg[k].end, q1 = seg[k1].end
            guard let tt = parallelTangent(p0, c1, c2, p3, q0, q1) else { return nil }
            let pt = bezierPoint(tt, p0, c1, c2, p3)
            let len = (q1 - q0).length
            if len == 0 { return nil }
            var d1 = parallelogramArea(q0, q1, pt) / len
            var d2 = parallelogramArea(q0, q1, seg[k1].vertex) / len * 0.75 * seg[k1].alpha
            if d2 < 0 { d1 = -d1; d2 = -d2 }
            if d1 < d2 - tolerance { return nil }
            if d1 < d2 { penalty += (d1 - d2) * (d1 - d2) }
            k = k1
        }
        return JoinedCurve(control1: c1, control2: c2, penalty: penalty)
    }

    /// The optimized path, starting at seg[0].end, as pieces that each replace the
    /// smoothed segments between two boundaries.
    func run() -> [CurvePiece] {
        let m = seg.count
        var previous = [Int](repeating: -1, count: m + 1)
        var penalty = [Double](repeating: 0, count: m + 1)
        var count = [Int](repeating: 0, count: m + 1)
        var joined = [JoinedCurve?](repeating: nil, count: m + 1)
        for j in 1...m {
            previous[j] = j - 1; penalty[j] = penalty[j - 1]; count[j] = count[j - 1] + 1
            var i = j - 2
            while i >= 0 {
                guard let o = join(i, j % m) else { break }
                if count[j] > count[i] + 1 || (count[j] == count[i] + 1 && penalty[j] > penalty[i] + o.penalty) {
                    previous[j] = i; penalty[j] = penalty[i] + o.penalty; count[j] = count[i] + 1; joined[j] = o
                }
                i -= 1
            }
        }
        var pieces: [CurvePiece] = []
        var j = m
        while j > 0 {
            let s = seg[j % m]
            if previous[j] == j - 1 {
                pieces.append(CurvePiece(s, from: j - 1, to: j))
            } else if let o = joined[j] {
                pieces.append(CurvePiece(segments: [.cubic(c1: o.control1, c2: o.control2, to: s.end)], from: previous[j], to: j))
            }
            j = previous[j]
        }
        return pieces.reversed()
    }
}

/// Output segments standing for the smoothed segments between boundaries `from` and `to`
/// (boundary b = end of smoothed segment b mod m = midpoint of polygon edge b).
struct CurvePiece {
    var segments: [PathSegment]
    var from: Int, to: Int

    init(segments: [PathSegment], from: Int, to: Int) { self.segments = segments; self.from = from; self.to = to }

    /// One smoothed segment as is.
    init(_ s: SmoothSegment, from: Int, to: Int) {
        self.init(segments: s.isCorner ? [.line(to: s.vertex), .line(to: s.end)]
                                       : [.cubic(c1: s.control1, c2: s.control2, to: s.end)], from: from, to: to)
    }
}

/// Pieces without optimization, starting at seg[0].end.
func unoptimizedPieces(_ seg: [SmoothSegment]) -> [CurvePiece] {
    let m = seg.count
    return (1...m).map { j in CurvePiece(seg[j % m], from: j - 1, to: j) }
}
