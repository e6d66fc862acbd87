/// Fitting one cubic Bezier to ordered boundary samples when its end points and end
/// tangent directions are fixed: only the two control distances along the tangents are
/// free, so each least-squares solve is a 2x2 system. Shared by `BoundaryRefiner` (refit
/// Potrace's curves) and `PieceMerger` (one curve in place of two).

/// One Newton step towards the curve parameter nearest to `d`, clamped to [0, 1].
@inline(__always)
func newtonStep(_ u: Double, _ d: Point2, _ p0: Point2, _ p1: Point2, _ p2: Point2, _ p3: Point2) -> Double {
    let s = 1 - u
    let q = bezierPoint(u, p0, p1, p2, p3)
    let q1 = 3 * s * s * (p1 - p0) + 6 * s * u * (p2 - p1) + 3 * u * u * (p3 - p2)
    let q2 = 6 * s * (p2 - 2 * p1 + p0) + 6 * u * (p3 - 2 * p2 + p1)
    let diff = q - d
    let den = q1.dot(q1) + diff.dot(q2)
    return den > 1e-12 ? min(1, max(0, u - diff.dot(q1) / den)) : u
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
    /// every parameter one Newton step on the current curve, sums the squared error
    /// there, and accumulates the normal equations for the next solve at the same time.
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
        var q = NormalEquations()
        var sum = 0.0
        let curve = a.flatMap { a in b.map { controls(a, $0) } }
        for i in data.indices {
            var ti = t[i]
            if let (p1, p2) = curve {
                ti = newtonStep(ti, data[i], p0, p1, p2, p3)
                t[i] = ti
            }
            let s = 1 - ti
            let b0 = s * s * s, b1 = 3 * s * s * ti, b2 = 3 * s * ti * ti, b3 = ti * ti * ti
            let fixed = Point2((b0 + b1) * p0.x + (b2 + b3) * p3.x, (b0 + b1) * p0.y + (b2 + b3) * p3.y)
            let a0 = b1 * u0, a1 = b2 * u3, r = data[i] - fixed
            q.m00 += a0.dot(a0); q.m01 += a0.dot(a1); q.m11 += a1.dot(a1)
            q.r0 += a0.dot(r); q.r1 += a1.dot(r)
            if let a, let b {
                // The curve's point is fixed + a * a0 + b * a1 (same basis): residual r minus that.
                let ex = r.x - a * a0.x - b * a1.x, ey = r.y - a * a0.y - b * a1.y
                sum += ex * ex + ey * ey
            }
        }
        return (sum, q)
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
    withUnsafeTemporaryAllocation(of: Point2.self, capacity: steps + 1) { grid in
        for k in 0...steps { grid[k] = bezierPoint(Double(k) / Double(steps), p0, p1, p2, p3) }
        for (i, d) in data.enumerated() {
            var upper = Double.infinity
            if let hints {
                let e = bezierPoint(newtonStep(hints[i], d, p0, p1, p2, p3), p0, p1, p2, p3) - d
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
            for _ in 0..<2 { u = newtonStep(u, d, p0, p1, p2, p3) }
            let e = bezierPoint(u, p0, p1, p2, p3) - d
            let d2 = min(upper, best, e.dot(e))
            worst = max(worst, d2); sum += d2
            if worst >= stopAt * stopAt && stopAt > 0 { break }
        }
    }
    return (worst.squareRoot(), sum)
}
