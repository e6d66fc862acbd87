/// Fitting one cubic Bezier to ordered boundary samples when its end points and end
/// tangent directions are fixed: only the two control distances along the tangents are
/// free, so each least-squares solve is a 2x2 system. Shared by `BoundaryRefiner` (refit
/// Potrace's curves) and `PieceMerger` (one curve in place of two).

/// A cubic Bezier in power form, a u^3 + b u^2 + c u + d: point and derivatives by Horner's
/// rule in a few multiply-adds each (the fitting loops below evaluate them per sample).
struct CubicPolynomial {
    let a: Point2, b: Point2, c: Point2, d: Point2

    @inline(__always) init(_ p0: Point2, _ p1: Point2, _ p2: Point2, _ p3: Point2) {
        d = p0
        c = 3 * (p1 - p0)
        b = 3 * (p2 - 2 * p1 + p0)
        a = p3 - 3 * p2 + 3 * p1 - p0
    }

    @inline(__always) func point(_ u: Double) -> Point2 {
        Point2(((a.x * u + b.x) * u + c.x) * u + d.x, ((a.y * u + b.y) * u + c.y) * u + d.y)
    }

    /// `newtonStep` on four parameters and points at once.
    @inline(__always) func newtonStep(_ u: SIMD4<Double>, _ px: SIMD4<Double>, _ py: SIMD4<Double>) -> SIMD4<Double> {
        let qx = ((a.x * u + b.x) * u + c.x) * u + d.x - px
        let qy = ((a.y * u + b.y) * u + c.y) * u + d.y - py
        let d1x = (3 * a.x * u + 2 * b.x) * u + c.x, d1y = (3 * a.y * u + 2 * b.y) * u + c.y
        let d2x = 6 * a.x * u + 2 * b.x, d2y = 6 * a.y * u + 2 * b.y
        let den = d1x * d1x + d1y * d1y + qx * d2x + qy * d2y
        // Clamped to [0, 1]. (Masked replace() and per-lane min/max measured slower here.)
        let stepped = pointwiseMin(SIMD4(repeating: 1), pointwiseMax(SIMD4(repeating: 0), u - (qx * d1x + qy * d1y) / den))
        return stepped.replacing(with: u, where: den .<= 1e-12)
    }

    /// One Newton step from `u` towards the parameter nearest to `p`, clamped to [0, 1].
    @inline(__always) func newtonStep(_ u: Double, towards p: Point2) -> Double {
        let qx = ((a.x * u + b.x) * u + c.x) * u + d.x - p.x
        let qy = ((a.y * u + b.y) * u + c.y) * u + d.y - p.y
        let d1x = (3 * a.x * u + 2 * b.x) * u + c.x, d1y = (3 * a.y * u + 2 * b.y) * u + c.y
        let d2x = 6 * a.x * u + 2 * b.x, d2y = 6 * a.y * u + 2 * b.y
        let den = d1x * d1x + d1y * d1y + qx * d2x + qy * d2y
        return den > 1e-12 ? min(1, max(0, u - (qx * d1x + qy * d1y) / den)) : u
    }
}

/// Parameters of the samples by chord length along p0, data..., p3.
func chordLengthParameters(_ p0: Point2, _ p3: Point2, _ data: [Point2]) -> [Double] {
    var t = [Double](repeating: 0, count: data.count)
    guard !data.isEmpty else { return t }
    var acc = (data[0] - p0).length
    t[0] = acc
    for i in 1..<data.count { acc += (data[i] - data[i - 1]).length; t[i] = acc }
    acc += (p3 - data[data.count - 1]).length
    if acc > 0 { for i in t.indices { t[i] /= acc } }
    return t
}

/// A cubic from p0 to p3 whose control points lie on fixed unit tangents u0 (from p0)
/// and u3 (from p3); `fit` finds the two distances along them.
struct TangentCubic {
    let p0: Point2, u0: Point2, p3: Point2, u3: Point2

    func controls(_ a: Double, _ b: Double) -> (Point2, Point2) { (p0 + a * u0, p3 + b * u3) }

    /// Least-squares distances alternating with Newton reparameterization, from
    /// parameters `t` (updated) and, if given, a starting curve `start` that a fit must
    /// beat. Returns the best distances and their squared error (with `t` for them), or
    /// nil if nothing beat `start`. Each round is one pass over the samples: it moves
    /// every parameter two Newton steps on the current curve (with one, the alternation
    /// converges so slowly that the refined BUSI tracings lost 0.0002 IoU at the same
    /// cost), sums the squared error there, and accumulates the normal equations for the
    /// next solve at the same time.
    func fit(_ data: [Point2], _ t: inout [Double], start: (a: Double, b: Double)?, rounds: Int,
             giveUpAbove: Double = .infinity) -> (a: Double, b: Double, error: Double)? {
        var system: NormalEquations
        var best: (a: Double, b: Double, error: Double)?
        var bestT = t
        if let start {
            let (e, s) = pass(start.a, start.b, data, &t)
            best = (start.a, start.b, e); bestT = t; system = s
        } else {
            system = pass(nil, nil, data, &t).1
        }
        var improved = false
        for _ in 0..<rounds {
            guard let (a, b) = system.solve(chord: (p3 - p0).length) else { break }
            let (e, s) = pass(a, b, data, &t)
            guard e < (best?.error ?? .infinity) else { break }
            best = (a, b, e); bestT = t; system = s; improved = true
            if e > giveUpAbove { break }
        }
        t = bestT
        return improved ? best : nil
    }

    /// 2x2 normal equations of the distances at fixed parameters.
    struct NormalEquations {
        var m00 = 0.0, m01 = 0.0, m11 = 0.0, r0 = 0.0, r1 = 0.0

        /// Nil when singular or not both positive and shorter than twice the chord (a
        /// fit that runs off the boundary's shape).
        func solve(chord: Double) -> (Double, Double)? {
            let det = m00 * m11 - m01 * m01
            guard abs(det) > 1e-12 else { return nil }
            let a = (r0 * m11 - r1 * m01) / det, b = (m00 * r1 - m01 * r0) / det
            guard a > 0, b > 0, a < 2 * chord, b < 2 * chord else { return nil }
            return (a, b)
        }
    }

    /// With a curve: Newton step on each parameter and squared error there. Always: the
    /// normal equations at the (new) parameters.
    private func pass(_ a: Double?, _ b: Double?, _ data: [Point2], _ t: inout [Double]) -> (Double, NormalEquations) {
        let curve = a.flatMap { a in b.map { b in controls(a, b) } }.map { CubicPolynomial(p0, $0.0, $0.1, p3) }
        let ka = a ?? 0, kb = b ?? 0
        // Four samples at a time in SIMD lanes: each sample's Newton steps are one long
        // dependency chain (two divisions), and four chains side by side keep the FPU busy.
        typealias V = SIMD4<Double>
        var m00 = V(), m01 = V(), m11 = V(), r0 = V(), r1 = V(), err = V()
        let count = data.count, whole = count & ~3
        data.withUnsafeBufferPointer { d in
            t.withUnsafeMutableBufferPointer { tp in
                @inline(__always) func lanes(_ i: Int, _ n: Int) {
                    // Lanes past the end (n < 4) sample p0 at u = 0: the curve passes
                    // through it there, so they add exact zeros to every sum.
                    var px = V(repeating: p0.x), py = V(repeating: p0.y), u = V()
                    for l in 0..<n { px[l] = d[i + l].x; py[l] = d[i + l].y; u[l] = tp[i + l] }
                    if let curve {
                        u = curve.newtonStep(curve.newtonStep(u, px, py), px, py)
                        for l in 0..<n { tp[i + l] = u[l] }
                    }
                    let s = 1 - u
                    let b1 = 3 * s * s * u, b2 = 3 * s * u * u
                    let head = s * s * s + b1, tail = b2 + u * u * u
                    let rx = px - (head * p0.x + tail * p3.x), ry = py - (head * p0.y + tail * p3.y)
                    let a0x = b1 * u0.x, a0y = b1 * u0.y, a1x = b2 * u3.x, a1y = b2 * u3.y
                    m00 += a0x * a0x + a0y * a0y; m01 += a0x * a1x + a0y * a1y; m11 += a1x * a1x + a1y * a1y
                    r0 += a0x * rx + a0y * ry; r1 += a1x * rx + a1y * ry
                    if curve != nil {
                        // The curve's point is fixed + a * a0 + b * a1 (same basis): residual r minus that.
                        let ex = rx - ka * a0x - kb * a1x, ey = ry - ka * a0y - kb * a1y
                        err += ex * ex + ey * ey
                    }
                }
                var i = 0
                while i < whole { lanes(i, 4); i += 4 }
                if whole < count { lanes(whole, count - whole) }
            }
        }
        let q = NormalEquations(m00: m00.sum(), m01: m01.sum(), m11: m11.sum(), r0: r0.sum(), r1: r1.sum())
        return (err.sum(), q)
    }
}

/// Largest distance from a sample to the curve: nearest of 17 evenly spaced curve points
/// (all searched: a local search from the previous sample's point can stop in a false
/// minimum), polished by two Newton steps. With `near` (a parameter per sample, e.g.
/// from a fit), the distance one Newton step from it is an upper bound for that sample;
/// samples whose bound is below the worst so far need no search, which skips most.
/// Stops early once the worst reaches `stopAt` (then the result is only known to be at
/// least that).
func worstDistance(_ p0: Point2, _ p1: Point2, _ p2: Point2, _ p3: Point2, _ data: [Point2],
                   near: [Double]? = nil, stopAt: Double = .infinity) -> Double {
    distances(p0, p1, p2, p3, data, near: near, stopAt: stopAt).worst
}

/// `worstDistance`, and the sum of the squared distances (for a skipped sample, its
/// upper bound; partial if stopped early).
func distances(_ p0: Point2, _ p1: Point2, _ p2: Point2, _ p3: Point2, _ data: [Point2],
               near: [Double]? = nil, stopAt: Double = .infinity) -> (worst: Double, sumOfSquares: Double) {
    let steps = 16
    var worst = 0.0, sum = 0.0  // squared
    let hints = near.flatMap { $0.count == data.count ? $0 : nil }
    let curve = CubicPolynomial(p0, p1, p2, p3)
    withUnsafeTemporaryAllocation(of: Point2.self, capacity: steps + 1) { grid in
        for k in 0...steps { grid[k] = curve.point(Double(k) / Double(steps)) }
        for (i, d) in data.enumerated() {
            var upper = Double.infinity
            if let hints {
                let e = curve.point(curve.newtonStep(hints[i], towards: d)) - d
                upper = e.dot(e)
                if upper <= worst { sum += upper; continue }
            }
            var best = Double.infinity, k = 0
            for j in 0...steps {
                let e = grid[j] - d
                let dd = e.dot(e)
                if dd < best { best = dd; k = j }
            }
            var u = Double(k) / Double(steps)
            for _ in 0..<2 { u = curve.newtonStep(u, towards: d) }
            let e = curve.point(u) - d
            let d2 = min(upper, best, e.dot(e))
            worst = max(worst, d2); sum += d2
            if worst >= stopAt * stopAt && stopAt > 0 { break }
        }
    }
    return (worst.squareRoot(), sum)
}
