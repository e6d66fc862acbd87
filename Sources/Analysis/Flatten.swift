/// Polyline flattening of traced paths (DICOM POLYLINE graphics, SR SCOORD).
extension ClosedPath {
    /// Points along the path, no farther than `maxDeviation` pixels from the curve,
    /// closed: the first point is repeated last. Coordinates as the path's.
    public func polyline(maxDeviation: Double = 0.1) -> [Point2] {
        var out = [start]
        var from = start
        let tolerance = max(maxDeviation, 1e-6)
        for s in segments {
            switch s {
            case let .line(p):
                out.append(p)
            case let .cubic(c1, c2, p):
                // |B''| <= 6 * max second difference; uniform steps of 1/n keep the chord
                // error under |B''|max / (8 n^2).
                let d1 = (from - 2 * c1 + c2).length, d2 = (c1 - 2 * c2 + p).length
                let bound = 6 * max(d1, d2)
                let n = max(1, Int((bound / (8 * tolerance)).squareRoot().rounded(.up)))
                for k in 1...n {
                    out.append(bezierPoint(Double(k) / Double(n), from, c1, c2, p))
                }
            }
            from = s.end
        }
        if out.last != start { out.append(start) }
        return out
    }

    /// Signed area enclosed (y down: positive for outer boundaries, negative for holes).
    public func signedArea(maxDeviation: Double = 0.01) -> Double {
        let pts = polyline(maxDeviation: maxDeviation)
        var a = 0.0
        for i in 0..<(pts.count - 1) { a += pts[i].cross(pts[i + 1]) }
        return a / 2
    }
}

extension TracedComponent {
    /// Area enclosed by the outer boundary less the holes, in square pixels.
    public func area(maxDeviation: Double = 0.01) -> Double {
        paths.reduce(0) { $0 + $1.signedArea(maxDeviation: maxDeviation) }
    }
}
