/// Potrace stage 2 (section 2.2): the optimal polygon of a lattice path. Among polygons
/// whose edges are "possible segments" (the sub-path they replace is straight), take one
/// with the fewest edges, and among those the least total penalty.

/// Prefix sums of the path's points (relative to its first point, for precision).
struct PathSums {
    var x: [Double], y: [Double], xx: [Double], xy: [Double], yy: [Double]
    let n: Int

    init(_ path: LatticePath) {
        n = path.count
        x = [0]; y = [0]; xx = [0]; xy = [0]; yy = [0]
        x.reserveCapacity(n + 1); y.reserveCapacity(n + 1)
        xx.reserveCapacity(n + 1); xy.reserveCapacity(n + 1); yy.reserveCapacity(n + 1)
        let x0 = path.xs[0], y0 = path.ys[0]
        for i in 0..<n {
            let px = Double(path.xs[i] - x0), py = Double(path.ys[i] - y0)
            x.append(x[i] + px); y.append(y[i] + py)
            xx.append(xx[i] + px * px); xy.append(xy[i] + px * py); yy.append(yy[i] + py * py)
        }
    }

    /// Sums over points i...j inclusive, where i < n and i <= j < i + n (j may wrap).
    @inline(__always)
    func range(_ i: Int, _ j: Int) -> (k: Double, x: Double, y: Double, xx: Double, xy: Double, yy: Double) {
        if j < n {
            return (Double(j + 1 - i), x[j + 1] - x[i], y[j + 1] - y[i], xx[j + 1] - xx[i], xy[j + 1] - xy[i], yy[j + 1] - yy[i])
        }
        let j2 = j - n
        return (Double(j + 1 - i), x[j2 + 1] - x[i] + x[n], y[j2 + 1] - y[i] + y[n],
                xx[j2 + 1] - xx[i] + xx[n], xy[j2 + 1] - xy[i] + xy[n], yy[j2 + 1] - yy[i] + yy[n])
    }
}

/// `a <= b < c` in cyclic order.
@inline(__always) func cyclic(_ a: Int, _ b: Int, _ c: Int) -> Bool {
    a <= c ? (a <= b && b < c) : (a <= b || b < c)
}

@inline(__always) private func sign(_ v: Int) -> Int { v > 0 ? 1 : (v < 0 ? -1 : 0) }
@inline(__always) private func cross(_ ax: Int, _ ay: Int, _ bx: Int, _ by: Int) -> Int { ax * by - ay * bx }

/// For every point i, the last index `lon[i]` such that the sub-path i...lon[i] is
/// straight (section 2.2.1): fewer than four step directions, and one line through the
/// start passes within the unit square (L-infinity radius 1) of every point.
func longestStraight(_ path: LatticePath) -> [Int] {
    let n = path.count
    let px = path.xs.map(Int.init), py = path.ys.map(Int.init)
    // nextCorner[i]: last point of the axis-parallel run starting at i.
    var nextCorner = [Int](repeating: 0, count: n)
    var k = 0
    for i in stride(from: n - 1, through: 0, by: -1) {
        if px[i] != px[k] && py[i] != py[k] { k = i + 1 }
        nextCorner[i] = k
    }
    var pivot = [Int](repeating: 0, count: n)
    for i in 0..<n {
        // Directions seen as bits, indexed (3 + 3*dx + dy) / 2 in {0: W, 1: N, 2: S, 3: E}.
        var seen = 0
        @inline(__always) func see(_ dx: Int, _ dy: Int) -> Bool {
            seen |= 1 << ((3 + 3 * dx + dy) / 2)
            return seen == 15
        }
        let i1 = i + 1 == n ? 0 : i + 1
        _ = see(px[i1] - px[i], py[i1] - py[i])
        // Admissible directions w: cross(lo, w) >= 0 and cross(hi, w) <= 0 ((0,0): no bound).
        var loX = 0, loY = 0, hiX = 0, hiY = 0
        var k1 = i
        var k = nextCorner[i]
        var fourDirections = false
        while true {
            if see(sign(px[k] - px[k1]), sign(py[k] - py[k1])) { fourDirections = true; break }
            let cx = px[k] - px[i], cy = py[k] - py[i]
            if cross(loX, loY, cx, cy) < 0 || cross(hiX, hiY, cx, cy) > 0 { break }
            if abs(cx) > 1 || abs(cy) > 1 {
                // Extreme corners of the square cur + (sx, sy), sx, sy = +-1, as seen from
                // point i: a, the most clockwise, has the other corners counterclockwise of
                // it; b, the most counterclockwise, the reverse. Checking a corner against
                // its two neighbours gives sx * (cy + sy) >= 0 and sy * (cx + sx) <= 0 for
                // a (signs flipped for b); these pick the signs below. Where two corners
                // qualify they lie on one ray from i, and either gives the same bound.
                let aX: Int, aY: Int, bX: Int, bY: Int
                if cy > 0 {
                    aX = cx + 1; aY = cy + (cx + 1 > 0 ? -1 : 1)
                    bX = cx - 1; bY = cy + (cx - 1 > 0 ? 1 : -1)
                } else if cy < 0 {
                    aX = cx - 1; aY = cy + (cx - 1 > 0 ? -1 : 1)
                    bX = cx + 1; bY = cy + (cx + 1 > 0 ? 1 : -1)
                } else {
                    let s = cx > 0 ? 1 : -1
                    aX = cx - s; aY = -s
                    bX = cx - s; bY = s
                }
                if cross(loX, loY, aX, aY) >= 0 { loX = aX; loY = aY }
                if cross(hiX, hiY, bX, bY) <= 0 { hiX = bX; hiY = bY }
            }
            k1 = k
            k = nextCorner[k1]
            if !cyclic(k, i, k1) { break }
        }
        if fourDirections { pivot[i] = k1; continue }
        // The run k1 -> k broke a bound: go along it as far as the bounds allow.
        let dx = sign(px[k] - px[k1]), dy = sign(py[k] - py[k1])
        let cx = px[k1] - px[i], cy = py[k1] - py[i]
        let a = cross(loX, loY, cx, cy), b = cross(loX, loY, dx, dy)
        let c = cross(hiX, hiY, cx, cy), d = cross(hiX, hiY, dx, dy)
        var j = Int.max
        if b < 0 { j = floorDiv(a, -b) }
        if d > 0 { j = min(j, floorDiv(-c, d)) }
        pivot[i] = (k1 + min(j, (k - k1 + n) % n)) % n
    }
    // Straightness is inherited by sub-paths: make lon monotone (cyclically).
    var lon = [Int](repeating: 0, count: n)
    var j = pivot[n - 1]
    lon[n - 1] = j
    for i in stride(from: n - 2, through: 0, by: -1) {
        if cyclic(i + 1, pivot[i], j) { j = pivot[i] }
        lon[i] = j
    }
    var i = n - 1
    while cyclic((i + 1) % n, j, lon[i]) { lon[i] = j; i -= 1 }
    return lon
}

@inline(__always) private func floorDiv(_ a: Int, _ b: Int) -> Int {
    a >= 0 ? a / b : -1 - (-1 - a) / b
}

/// Penalty of the edge from point i to point j (j may be i..<i+n, wrapping): the edge
/// length times the RMS Euclidean distance of points i...j from it (section 2.2.3).
@inline(__always)
func edgePenalty(_ path: LatticePath, _ sums: PathSums, _ i: Int, _ j: Int) -> Double {
    let n = path.count
    let jj = j >= n ? j - n : j
    let x0 = path.xs[0], y0 = path.ys[0]
    let ax = Double(path.xs[i] - x0), ay = Double(path.ys[i] - y0)
    let bx = Double(path.xs[jj] - x0), by = Double(path.ys[jj] - y0)
    let s = sums.range(i, j)
    let mx = (ax + bx) / 2, my = (ay + by) / 2
    // Normal scaled by the edge length.
    let ex = -(by - ay), ey = bx - ax
    let sxx = (s.xx - 2 * s.x * mx) / s.k + mx * mx
    let sxy = (s.xy - s.x * my - s.y * mx) / s.k + mx * my
    let syy = (s.yy - 2 * s.y * my) / s.k + my * my
    return max(0, ex * ex * sxx + 2 * ex * ey * sxy + ey * ey * syy).squareRoot()
}

/// Indices (into the path) of the optimal polygon's vertices, the first being 0.
func optimalPolygon(_ path: LatticePath, sums: PathSums) -> [Int] {
    let n = path.count
    let lon = longestStraight(path)
    // reach[i]: furthest j (i < j <= n, n meaning point 0 again) with i -> j possible:
    // the sub-path from i-1 to j+1 must be straight.
    var reach = [Int](repeating: 0, count: n)
    for i in 0..<n {
        var c = (lon[(i - 1 + n) % n] - 1 + n) % n
        if c == i { c = (i + 1) % n }
        reach[i] = c < i ? n : c
    }
    // from[j]: smallest i with reach[i] >= j.
    var from = [Int](repeating: 0, count: n + 1)
    var jj = 1
    for i in 0..<n {
        while jj <= reach[i] { from[jj] = i; jj += 1 }
    }
    // Fewest edges: greedy forward and backward give, per edge count, the index window.
    var forward: [Int] = []
    var i = 0
    while i < n { forward.append(i); i = reach[i] }
    forward.append(n)
    let m = forward.count - 1
    var backward = [Int](repeating: 0, count: m + 1)
    i = n
    for j in stride(from: m, to: 0, by: -1) { backward[j] = i; i = from[i] }
    backward[0] = 0
    // Least penalty among polygons with m edges (dynamic programming over the windows).
    var penalty = [Double](repeating: 0, count: n + 1)
    var previous = [Int](repeating: 0, count: n + 1)
    for j in 1...m {
        for i in backward[j]...forward[j] {
            var best = Double.infinity
            var k = forward[j - 1]
            while k >= from[i] {
                let p = edgePenalty(path, sums, k, i) + penalty[k]
                if p < best { previous[i] = k; best = p }
                k -= 1
            }
            penalty[i] = best
        }
    }
    var vertices = [Int](repeating: 0, count: m)
    i = n
    for j in stride(from: m - 1, through: 0, by: -1) { i = previous[i]; vertices[j] = i }
    return vertices
}
