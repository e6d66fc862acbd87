/// An addition to the paper's method (optional, on by default): refit each Bezier's two
/// control-point distances to the pixel boundary it stands for.
///
/// Plain Potrace places control points by the alpha heuristic, which leaves smooth
/// curves a little inside convex boundaries (a disc of radius 40 re-rasterizes at IoU
/// ~0.988). The targets here are the midpoints of the boundary's unit edges: each lies
/// halfway between a lesion pixel centre and a background pixel centre, so a curve
/// through them re-rasterizes to the mask exactly. Endpoints and tangent directions stay
/// as Potrace chose them (continuity and segment count are unchanged); only the two
/// distances along the tangents are solved for, by linear least squares, with two rounds
/// of Newton reparameterization. A fit is kept only if it lowers the squared error.
struct BoundaryRefiner {
    let path: LatticePath
    /// Path index (fractional) of each boundary b = midpoint of polygon edge b, b = 0...m.
    let boundaryIndex: [Double]

    init(path: LatticePath, polygon: [Int]) {
        self.path = path
        let n = path.count, m = polygon.count
        let ext = polygon + [n + polygon[0], n + polygon[m > 1 ? 1 : 0]]
        boundaryIndex = (0...m).map { Double(ext[$0] + ext[$0 + 1]) / 2 }
    }

    func refine(_ pieces: [CurvePiece]) -> [CurvePiece] {
        let n = pieces.count
        guard n > 0 else { return pieces }
        var ends = pieces.map { $0.segments.last!.end }
        var c1 = [Point2](repeating: Point2(0, 0), count: n), c2 = c1
        var isCubic = [Bool](repeating: false, count: n)
        var data = [[Point2]](repeating: [], count: n)
        for (i, piece) in pieces.enumerated() {
            guard piece.segments.count == 1, case let .cubic(a, b, _) = piece.segments[0] else { continue }
            isCubic[i] = true; c1[i] = a; c2[i] = b
            data[i] = samples(from: boundaryIndex[piece.from], to: boundaryIndex[piece.to])
        }
        var params = [[Double]](repeating: [], count: n)
        var moved = [Point2](repeating: Point2(0, 0), count: n)
        for round in 0..<3 {
            for i in 0..<n where isCubic[i] {
                let p0 = ends[(i - 1 + n) % n]
                if let (a, b, t) = fit(p0, c1[i], c2[i], ends[i], data[i], start: params[i]) {
                    c1[i] = a; c2[i] = b; params[i] = t
                }
            }
            if round == 2 { break }
            // Slide each junction between two fitted curves along its normal by the mean
            // residual of the samples next to it (control points move with it: G1 kept).
            for j in 0..<n {
                let k = (j + 1) % n
                guard isCubic[j], isCubic[k], !params[j].isEmpty, !params[k].isEmpty else { continue }
                let tangent = c1[k] - c2[j]
                let len = tangent.length
                guard len > 1e-9 else { continue }
                let normal = Point2(-tangent.y / len, tangent.x / len)
                var sum = 0.0, count = 0
                let pj = ends[(j - 1 + n) % n], pk = ends[k]
                for (d, t) in zip(data[j], params[j]) where t > 0.75 {
                    sum += (d - bezierPoint(t, pj, c1[j], c2[j], ends[j])).dot(normal); count += 1
                }
                for (d, t) in zip(data[k], params[k]) where t < 0.25 {
                    sum += (d - bezierPoint(t, ends[j], c1[k], c2[k], pk)).dot(normal); count += 1
                }
                guard count >= 2 else { continue }
                let shift = max(-0.5, min(0.5, sum / Double(count))) * normal
                ends[j] = ends[j] + shift; c2[j] = c2[j] + shift; c1[k] = c1[k] + shift
                moved[j] = moved[j] + shift
            }
        }
        // Guard: least squares may trade one far outlier for many small gains. A curve
        // whose worst sample got clearly worse keeps Potrace's control points, moved
        // with its (possibly shifted) ends.
        func worse(_ i: Int) -> Bool {
            guard isCubic[i], case let .cubic(o1, o2, oEnd) = pieces[i].segments[0] else { return false }
            let oStart = pieces[(i - 1 + n) % n].segments.last!.end
            return worstDistance(ends[(i - 1 + n) % n], c1[i], c2[i], ends[i], data[i])
                > worstDistance(oStart, o1, o2, oEnd, data[i]) + 0.05
        }
        // A junction whose neighbours got clearly worse goes back where Potrace put it.
        for j in 0..<n where moved[j] != Point2(0, 0) {
            let k = (j + 1) % n
            if worse(j) || worse(k) {
                let back = -1 * moved[j]
                ends[j] = ends[j] + back; c2[j] = c2[j] + back; c1[k] = c1[k] + back
            }
        }
        for i in 0..<n where isCubic[i] {
            guard case let .cubic(o1, o2, oEnd) = pieces[i].segments[0] else { continue }
            let oStart = pieces[(i - 1 + n) % n].segments.last!.end
            let start = ends[(i - 1 + n) % n]
            let before = worstDistance(oStart, o1, o2, oEnd, data[i])
            let after = worstDistance(start, c1[i], c2[i], ends[i], data[i])
            if after > before + 0.05 {
                c1[i] = start + (o1 - oStart); c2[i] = ends[i] + (o2 - oEnd)
            }
        }
        var out = pieces
        for i in 0..<n {
            if isCubic[i] {
                out[i].segments = [.cubic(c1: c1[i], c2: c2[i], to: ends[i])]
            } else if case let .line(v) = pieces[i].segments[0], pieces[i].segments.count == 2 {
                out[i].segments = [.line(to: v), .line(to: ends[i])]
            } else {
                out[i].segments = [.line(to: ends[i])]
            }
        }
        return out
    }

    /// Midpoints of the path's unit steps whose index lies strictly between a and b.
    private func samples(from a: Double, to b: Double) -> [Point2] {
        let n = path.count
        var out: [Point2] = []
        var k = Int((a - 0.5).rounded(.down)) + 1
        while Double(k) + 0.5 < b {
            if Double(k) + 0.5 > a {
                let i = ((k % n) + n) % n, j = i + 1 == n ? 0 : i + 1
                out.append(Point2(Double(path.xs[i] + path.xs[j]) / 2, Double(path.ys[i] + path.ys[j]) / 2))
            }
            k += 1
        }
        return out
    }

    /// Least-squares control points along the current tangents; nil if no better fit.
    private func fit(_ p0: Point2, _ c1: Point2, _ c2: Point2, _ p3: Point2,
                     _ data: [Point2], start: [Double]) -> (Point2, Point2, [Double])? {
        guard data.count >= 3 else { return nil }
        let l0 = (c1 - p0).length, l3 = (c2 - p3).length
        guard l0 > 1e-9, l3 > 1e-9 else { return nil }
        let u0 = (1 / l0) * (c1 - p0), u3 = (1 / l3) * (c2 - p3)
        let chord = (p3 - p0).length
        // Parameters from the previous round, else by chord length; one Newton step each.
        var t = start
        if t.count != data.count {
            t = [Double](repeating: 0, count: data.count)
            var acc = (data[0] - p0).length
            t[0] = acc
            for i in 1..<data.count { acc += (data[i] - data[i - 1]).length; t[i] = acc }
            acc += (p3 - data[data.count - 1]).length
            for i in t.indices { t[i] /= acc }
        }
        var bestA = l0, bestB = l3
        var bestError = error(p0, c1, c2, p3, data, &t)
        var bestT = t
        var improved = false
        for _ in 0..<3 {
            var m00 = 0.0, m01 = 0.0, m11 = 0.0, r0 = 0.0, r1 = 0.0
            for (i, d) in data.enumerated() {
                let s = 1 - t[i], ti = t[i]
                let b0 = s * s * s, b1 = 3 * s * s * ti, b2 = 3 * s * ti * ti, b3 = ti * ti * ti
                let fixed = Point2((b0 + b1) * p0.x + (b2 + b3) * p3.x, (b0 + b1) * p0.y + (b2 + b3) * p3.y)
                let a0 = b1 * u0, a1 = b2 * u3, r = d - fixed
                m00 += a0.dot(a0); m01 += a0.dot(a1); m11 += a1.dot(a1)
                r0 += a0.dot(r); r1 += a1.dot(r)
            }
            let det = m00 * m11 - m01 * m01
            guard abs(det) > 1e-12 else { break }
            let a = (r0 * m11 - r1 * m01) / det, b = (m00 * r1 - m01 * r0) / det
            guard a > 0, b > 0, a < 2 * chord, b < 2 * chord else { break }
            let e = error(p0, p0 + a * u0, p3 + b * u3, p3, data, &t)
            if e < bestError { bestError = e; bestA = a; bestB = b; bestT = t; improved = true } else { break }
        }
        return improved ? (p0 + bestA * u0, p3 + bestB * u3, bestT) : nil
    }

    /// Largest distance from a sample to the curve (nearest of 24 evenly spaced points,
    /// polished by two Newton steps).
    private func worstDistance(_ p0: Point2, _ p1: Point2, _ p2: Point2, _ p3: Point2, _ data: [Point2]) -> Double {
        let steps = 24
        var grid = [Point2]()
        grid.reserveCapacity(steps + 1)
        for k in 0...steps { grid.append(bezierPoint(Double(k) / Double(steps), p0, p1, p2, p3)) }
        var worst = 0.0
        for d in data {
            var bestK = 0, best = Double.infinity
            for k in 0...steps {
                let e = grid[k] - d
                let dd = e.dot(e)
                if dd < best { best = dd; bestK = k }
            }
            var t = [Double(bestK) / Double(steps)]
            var e = error(p0, p1, p2, p3, [d], &t)
            e = min(e, error(p0, p1, p2, p3, [d], &t))
            worst = max(worst, min(best, e).squareRoot())
        }
        return worst
    }

    /// Sum of squared distances at parameters `t`, after one Newton step on each.
    private func error(_ p0: Point2, _ p1: Point2, _ p2: Point2, _ p3: Point2, _ data: [Point2],
                       _ t: inout [Double]) -> Double {
        var sum = 0.0
        for (i, d) in data.enumerated() {
            var u = t[i]
            do {
                let s = 1 - u
                let q = bezierPoint(u, p0, p1, p2, p3)
                let q1 = 3 * s * s * (p1 - p0) + 6 * s * u * (p2 - p1) + 3 * u * u * (p3 - p2)
                let q2 = 6 * s * (p2 - 2 * p1 + p0) + 6 * u * (p3 - 2 * p2 + p1)
                let diff = q - d
                let den = q1.dot(q1) + diff.dot(q2)
                if den > 1e-12 { u = min(1, max(0, u - diff.dot(q1) / den)) }
                t[i] = u
            }
            let e = bezierPoint(u, p0, p1, p2, p3) - d
            sum += e.dot(e)
        }
        return sum
    }
}
