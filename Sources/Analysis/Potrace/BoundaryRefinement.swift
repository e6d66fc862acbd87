/// A piece after refinement, with what `PieceMerger` needs to judge joining it.
struct RefinedPiece {
    var piece: CurvePiece
    var start: Point2
    /// The boundary samples a single cubic stands for (empty for corners and lines).
    var samples: [Point2]
    /// Curve parameter of each sample where it is nearest (empty if unknown).
    var params: [Double]
    /// Largest distance from those samples to the cubic, and sum of squared distances.
    var worst: Double, sumOfSquares: Double
}

/// An addition to the paper's method (optional, on by default): refit each Bezier's two
/// control-point distances to the pixel boundary it stands for.
///
/// Plain Potrace places control points by the alpha heuristic, which leaves smooth
/// curves a little inside convex boundaries (a disc of radius 40 re-rasterizes at IoU
/// ~0.988). The targets here are the midpoints of the boundary's unit edges: each lies
/// halfway between a lesion pixel centre and a background pixel centre, so a curve
/// through them re-rasterizes to the mask exactly. Endpoints and tangent directions stay
/// as Potrace chose them at first (continuity and segment count are unchanged): the two
/// distances along the tangents are solved for by linear least squares alternating with
/// Newton reparameterization (two Newton steps per pass, up to five passes); then each
/// junction between two curves slides along its normal by the mean residual next to it,
/// its control points moving with it so tangents stay continuous; then one more fit.
/// Guards undo any junction shift or refit that makes a curve's worst sample clearly
/// worse (least squares can trade one far outlier for many small gains).
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

    /// Number of polygon edges m (boundaries 0...m, m being 0 again).
    var boundaryCount: Int { boundaryIndex.count - 1 }

    /// Path index of boundary b; b > m counts on round the path (b - m, one lap later).
    func position(_ b: Int) -> Double {
        b < boundaryIndex.count ? boundaryIndex[b] : boundaryIndex[b - boundaryCount] + Double(path.count)
    }

    func refine(_ pieces: [CurvePiece]) -> [RefinedPiece] {
        let n = pieces.count
        guard n > 0 else { return [] }
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
        for round in 0..<2 {
            for i in 0..<n where isCubic[i] {
                let p0 = ends[(i - 1 + n) % n]
                if let (a, b, t) = fit(p0, c1[i], c2[i], ends[i], data[i], start: params[i]) {
                    c1[i] = a; c2[i] = b; params[i] = t
                }
            }
            if round == 1 { break }
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
        // Potrace's worst is needed only as far as deciding that comparison, so it is
        // searched with an early stop and kept as a lower bound until known exactly.
        var before = [Double](repeating: 0, count: n), beforeExact = [Bool](repeating: false, count: n)
        var worst = [Double](repeating: 0, count: n), squares = worst
        func update(_ i: Int) -> Bool {
            guard isCubic[i] else { return false }
            (worst[i], squares[i]) = distances(ends[(i - 1 + n) % n], c1[i], c2[i], ends[i], data[i], near: params[i])
            let needed = worst[i] - 0.05  // not worse iff Potrace's worst >= this
            if before[i] >= needed { return false }
            if beforeExact[i] { return true }
            guard case let .cubic(o1, o2, oEnd) = pieces[i].segments[0] else { return false }
            let oStart = pieces[(i - 1 + n) % n].segments.last!.end
            before[i] = worstDistance(oStart, o1, o2, oEnd, data[i], near: chordLengthParameters(oStart, oEnd, data[i]),
                                      stopAt: needed)
            beforeExact[i] = before[i] < needed
            return beforeExact[i]
        }
        var isWorse = (0..<n).map(update)
        // A junction whose neighbours got clearly worse goes back where Potrace put it.
        for j in 0..<n where moved[j] != Point2(0, 0) {
            let k = (j + 1) % n
            if isWorse[j] || isWorse[k] {
                let back = -1 * moved[j]
                ends[j] = ends[j] + back; c2[j] = c2[j] + back; c1[k] = c1[k] + back
                isWorse[j] = update(j); isWorse[k] = update(k)
            }
        }
        for i in 0..<n where isWorse[i] {
            guard case let .cubic(o1, o2, oEnd) = pieces[i].segments[0] else { continue }
            let oStart = pieces[(i - 1 + n) % n].segments.last!.end
            let start = ends[(i - 1 + n) % n]
            c1[i] = start + (o1 - oStart); c2[i] = ends[i] + (o2 - oEnd)
            (worst[i], squares[i]) = distances(start, c1[i], c2[i], ends[i], data[i], near: params[i])
        }
        var out: [RefinedPiece] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            var piece = pieces[i]
            if isCubic[i] {
                piece.segments = [.cubic(c1: c1[i], c2: c2[i], to: ends[i])]
            } else if case let .line(v) = pieces[i].segments[0], pieces[i].segments.count == 2 {
                piece.segments = [.line(to: v), .line(to: ends[i])]
            } else {
                piece.segments = [.line(to: ends[i])]
            }
            out.append(RefinedPiece(piece: piece, start: ends[(i - 1 + n) % n], samples: isCubic[i] ? data[i] : [],
                                    params: isWorse[i] ? [] : params[i], worst: worst[i], sumOfSquares: squares[i]))
        }
        return out
    }

    /// Midpoints of the path's unit steps whose index lies strictly between a and b.
    func samples(from a: Double, to b: Double) -> [Point2] {
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
        // Parameters from the previous round, else by chord length.
        var t = start.count == data.count ? start : chordLengthParameters(p0, p3, data)
        let cubic = TangentCubic(p0: p0, u0: u0, p3: p3, u3: u3)
        guard let (a, b, _) = cubic.fit(data, &t, start: (l0, l3), rounds: 4) else { return nil }
        let (n1, n2) = cubic.controls(a, b)
        return (n1, n2, t)
    }
}
