/// An addition to the paper's method, after `BoundaryRefiner`: replace two adjacent
/// curves by one where one curve still follows the pixel boundary as well.
///
/// Potrace's curve optimization (section 2.5) joins segments by their distance to the
/// polygon, before the refinement moves the curves onto the pixel boundary; once they
/// are there, some neighbours can be joined that the polygon test kept apart. Two curves
/// meeting smoothly are joined into one that keeps the outer end points and end tangents
/// (so continuity with the rest of the path is unchanged) with its two control distances
/// fitted to the boundary samples of both. The join is kept only if no sample ends up
/// much further from the curve than it was from the two curves.
struct PieceMerger {
    let refiner: BoundaryRefiner
    /// A join may raise the worst sample distance by this much (pixels)...
    var slack = 0.1
    /// ...and never above this.
    var limit = 0.5
    /// A join may raise the mean squared sample distance by this factor.
    var meanGrowth = 1.2

    func merge(_ pieces: [RefinedPiece]) -> [CurvePiece] {
        guard pieces.count > 2 else { return pieces.map(\.piece) }
        // Greedy, in path order: each curve joins the one before if that fits.
        var out: [RefinedPiece] = []
        out.reserveCapacity(pieces.count)
        for piece in pieces {
            if let previous = out.last, let joined = join(previous, piece) {
                out[out.count - 1] = joined
            } else {
                out.append(piece)
            }
        }
        // The path's start (the last piece's end) is a junction like any other.
        if out.count > 2, let joined = join(out[out.count - 1], out[0]) {
            out[0] = joined
            out.removeLast()
        }
        return out.map(\.piece)
    }

    /// One cubic for `a` then `b`, or nil if it fits the samples clearly worse.
    private func join(_ a: RefinedPiece, _ b: RefinedPiece) -> RefinedPiece? {
        guard a.samples.count >= 3, b.samples.count >= 3,
              case let .cubic(a1, a2, junction) = a.piece.segments[0],
              case let .cubic(b1, b2, p3) = b.piece.segments[0] else { return nil }
        let p0 = a.start
        let l0 = (a1 - p0).length, l3 = (b2 - p3).length
        guard l0 > 1e-9, l3 > 1e-9 else { return nil }
        // Only smooth junctions: a corner between two curves stays.
        let inDir = junction - a2, outDir = b1 - junction
        guard inDir.cross(outDir).magnitude <= 1e-6 * inDir.length * outDir.length, inDir.dot(outDir) > 0 else { return nil }
        let u0 = (1 / l0) * (a1 - p0), u3 = (1 / l3) * (b2 - p3)
        let to = b.piece.to + (b.piece.to <= a.piece.from ? refiner.boundaryCount : 0)
        let data = refiner.samples(from: refiner.position(a.piece.from), to: refiner.position(to))
        var t = startParameters(a, b, p3: p3, data: data)
        let before = max(a.worst, b.worst)
        let allowed = min(before + slack, max(limit, before))
        let cubic = TangentCubic(p0: p0, u0: u0, p3: p3, u3: u3)
        guard let (da, db) = fitJoin(cubic, data, &t, allowed: allowed) else { return nil }
        let (c1, c2) = cubic.controls(da, db)
        let (worst, squares) = distances(p0, c1, c2, p3, data, near: t)
        guard worst <= allowed else { return nil }
        // The worst sample alone lets a join drift along a whole stretch: the mean
        // squared distance may grow only a little too.
        let meanBefore = (a.sumOfSquares + b.sumOfSquares) / Double(a.samples.count + b.samples.count)
        guard squares / Double(data.count) <= meanBefore * meanGrowth + 1e-3 else { return nil }
        return RefinedPiece(piece: CurvePiece(segments: [.cubic(c1: c1, c2: c2, to: p3)], from: a.piece.from, to: to),
                            start: p0, samples: data, params: t, worst: worst, sumOfSquares: squares)
    }

    /// The joined curve's control distances, or nil if it clearly cannot fit. Most joins
    /// fail (about nine in ten on BUSI masks), and fail as clearly on every second sample:
    /// longer stretches are tried on those first, then refined on all samples.
    private func fitJoin(_ cubic: TangentCubic, _ data: [Point2], _ t: inout [Double], allowed: Double) -> (Double, Double)? {
        // Stop refitting once the root mean square error is over twice the allowed worst
        // distance: the join will fail anyway (the worst is at least the RMS).
        func giveUp(_ count: Int) -> Double { 4 * allowed * allowed * Double(count) }
        guard data.count >= 16 else {
            return cubic.fit(data, &t, start: nil, rounds: 4, giveUpAbove: giveUp(data.count)).map { ($0.a, $0.b) }
        }
        let even = Swift.stride(from: 0, to: data.count, by: 2)
        let half = even.map { data[$0] }
        var halfT = even.map { t[$0] }
        guard let trial = cubic.fit(half, &halfT, start: nil, rounds: 4, giveUpAbove: giveUp(half.count)) else { return nil }
        let (c1, c2) = cubic.controls(trial.a, trial.b)
        guard worstDistance(cubic.p0, c1, c2, cubic.p3, half, near: halfT) <= allowed + 0.1 else { return nil }
        // Parameters for all samples: the trial's, and midway between them for the others.
        for (k, u) in halfT.enumerated() { t[2 * k] = u }
        for k in Swift.stride(from: 1, to: data.count, by: 2) {
            t[k] = (t[k - 1] + (k + 1 < data.count ? t[k + 1] : 1)) / 2
        }
        let full = cubic.fit(data, &t, start: (trial.a, trial.b), rounds: 2)
        return full.map { ($0.a, $0.b) } ?? (trial.a, trial.b)
    }

    /// Parameters on the joined curve to start fitting from: each curve's own, scaled into
    /// its share of the joined one by control polygon length (a sample that lay exactly
    /// on the junction, in neither piece, goes at the junction). Chord length if unknown.
    private func startParameters(_ a: RefinedPiece, _ b: RefinedPiece, p3: Point2, data: [Point2]) -> [Double] {
        let extra = data.count - a.samples.count - b.samples.count
        guard a.params.count == a.samples.count, b.params.count == b.samples.count, extra == 0 || extra == 1,
              case let .cubic(a1, a2, junction) = a.piece.segments[0], case let .cubic(b1, b2, _) = b.piece.segments[0] else {
            return chordLengthParameters(a.start, p3, data)
        }
        let la = (a1 - a.start).length + (a2 - a1).length + (junction - a2).length
        let lb = (b1 - junction).length + (b2 - b1).length + (p3 - b2).length
        let wa = la / (la + lb), wb = 1 - wa
        var t: [Double] = []
        t.reserveCapacity(data.count)
        for u in a.params { t.append(wa * u) }
        if extra == 1 { t.append(wa) }
        for u in b.params { t.append(wa + wb * u) }
        return t
    }
}
