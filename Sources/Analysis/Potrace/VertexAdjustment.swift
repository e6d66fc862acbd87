/// Potrace stage 3 (section 2.3): move each polygon vertex, within the unit square round
/// its lattice point, to where the two adjacent edges' least-squares lines fit best.

/// Symmetric 3x3 quadratic form on (x, y, 1).
private struct Quadratic {
    var m = [Double](repeating: 0, count: 9)

    mutating func addLine(normalX: Double, normalY: Double, through p: Point2) {
        let v = [normalX, normalY, -(normalX * p.x + normalY * p.y)]
        for r in 0..<3 { for c in 0..<3 { m[r * 3 + c] += v[r] * v[c] } }
    }

    func value(_ x: Double, _ y: Double) -> Double {
        let v = [x, y, 1.0]
        var s = 0.0
        for r in 0..<3 { for c in 0..<3 { s += v[r] * m[r * 3 + c] * v[c] } }
        return s
    }
}

/// Adjusted vertex positions, relative to the path's first point.
func adjustVertices(_ path: LatticePath, sums: PathSums, polygon: [Int]) -> [Point2] {
    let n = path.count, m = polygon.count
    let x0 = path.xs[0], y0 = path.ys[0]
    func point(_ i: Int) -> Point2 { Point2(Double(path.xs[i] - x0), Double(path.ys[i] - y0)) }
    // Least-squares line (centre, unit direction) of each polygon edge's points.
    var centres: [Point2] = [], directions: [Point2] = []
    for e in 0..<m {
        let i = polygon[e]
        var j = polygon[(e + 1) % m]
        if j <= i { j += n }
        let s = sums.range(i, j)
        let cx = s.x / s.k, cy = s.y / s.k
        let a = s.xx / s.k - cx * cx, b = s.xy / s.k - cx * cy, c = s.yy / s.k - cy * cy
        let lambda = (a + c + ((a - c) * (a - c) + 4 * b * b).squareRoot()) / 2  // larger eigenvalue
        // Eigenvector of [[a, b], [b, c]] for lambda; take the better-conditioned form.
        var dx = b, dy = lambda - a
        if abs(lambda - c) > abs(lambda - a) { dx = lambda - c; dy = b }
        let len = (dx * dx + dy * dy).squareRoot()
        if len > 0 { dx /= len; dy /= len } else { dx = 0; dy = 0 }
        centres.append(Point2(cx, cy)); directions.append(Point2(dx, dy))
    }
    var out: [Point2] = []
    out.reserveCapacity(m)
    for v in 0..<m {
        let s = point(polygon[v])
        var q = Quadratic()
        for e in [(v - 1 + m) % m, v] {
            let d = directions[e]
            q.addLine(normalX: -d.y, normalY: d.x, through: centres[e])
        }
        var det = q.m[0] * q.m[4] - q.m[1] * q.m[1]
        if abs(det) < 1e-9 {
            // Parallel lines: also pull towards s along the common direction, i.e. add
            // the line through s whose normal is that direction.
            var ux = -q.m[1], uy = q.m[0]
            if abs(q.m[4]) > abs(q.m[0]) { ux = q.m[4]; uy = -q.m[1] }
            if ux == 0 && uy == 0 { ux = 1 }
            let l = (ux * ux + uy * uy).squareRoot()
            q.addLine(normalX: ux / l, normalY: uy / l, through: s)
            det = q.m[0] * q.m[4] - q.m[1] * q.m[1]
        }
        // Unconstrained minimum.
        let zx = (-q.m[2] * q.m[4] + q.m[5] * q.m[1]) / det
        let zy = (-q.m[5] * q.m[0] + q.m[2] * q.m[1]) / det
        if abs(zx - s.x) <= 0.5 && abs(zy - s.y) <= 0.5 {
            out.append(Point2(zx, zy))
            continue
        }
        // Otherwise the minimum lies on the square's boundary: edges, then corners.
        var best = Point2(s.x, s.y), bestValue = Double.infinity
        func consider(_ x: Double, _ y: Double) {
            let val = q.value(x, y)
            if val < bestValue { bestValue = val; best = Point2(x, y) }
        }
        if q.m[4] != 0 {
            for x in [s.x - 0.5, s.x + 0.5] {
                let y = -(q.m[1] * x + q.m[5]) / q.m[4]
                if abs(y - s.y) <= 0.5 { consider(x, y) }
            }
        }
        if q.m[0] != 0 {
            for y in [s.y - 0.5, s.y + 0.5] {
                let x = -(q.m[1] * y + q.m[2]) / q.m[0]
                if abs(x - s.x) <= 0.5 { consider(x, y) }
            }
        }
        for x in [s.x - 0.5, s.x + 0.5] { for y in [s.y - 0.5, s.y + 0.5] { consider(x, y) } }
        out.append(best)
    }
    return out
}
