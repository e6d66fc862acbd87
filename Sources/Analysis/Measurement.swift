/// Lesion size measurements on the traced outline, done in millimetre space so that
/// anisotropic pixel spacing is handled right.

/// Physical pixel size, as in DICOM Pixel Spacing (0028,0030) = row spacing \ column spacing.
public struct PixelSpacing: Equatable, Sendable, Codable {
    /// Millimetres between adjacent rows (vertical size of a pixel).
    public var row: Double
    /// Millimetres between adjacent columns (horizontal size of a pixel).
    public var column: Double
    public init(row: Double, column: Double) { self.row = row; self.column = column }
}

/// A measured diameter with its endpoints in source pixel coordinates.
public struct LesionAxis: Equatable, Sendable, Codable {
    public var start: Point2
    public var end: Point2
    /// Length in millimetres (nil without pixel spacing).
    public var lengthMM: Double?
    /// Euclidean length in pixel units.
    public var lengthPixels: Double
}

public struct LesionMeasurement: Equatable, Sendable, Codable {
    /// Enclosed area of the traced outline less holes, square pixels.
    public var areaPixels: Double
    public var areaMM2: Double?
    /// Largest Feret diameter.
    public var longAxis: LesionAxis
    /// Largest extent of the lesion along a line perpendicular to the long axis.
    public var shortAxis: LesionAxis

    /// Measures one traced lesion (coordinates in source pixels). `maxDeviation` is the
    /// flattening tolerance of the outline in pixels.
    public static func measure(_ lesion: TracedComponent, spacing: PixelSpacing?,
                               maxDeviation: Double = 0.05) -> LesionMeasurement {
        let sx = spacing?.column ?? 1, sy = spacing?.row ?? 1
        var outline = lesion.outer.polyline(maxDeviation: maxDeviation)
        outline.removeLast()
        let mm = outline.map { Point2($0.x * sx, $0.y * sy) }
        func toPixels(_ p: Point2) -> Point2 { Point2(p.x / sx, p.y / sy) }
        func axis(_ a: Point2, _ b: Point2) -> LesionAxis {
            let pa = toPixels(a), pb = toPixels(b)
            return LesionAxis(start: pa, end: pb, lengthMM: spacing == nil ? nil : (b - a).length,
                              lengthPixels: (pb - pa).length)
        }
        let areaPx = lesion.area(maxDeviation: min(maxDeviation, 0.01))
        // Long axis: farthest pair among convex hull vertices.
        let hull = convexHull(mm)
        var la = hull.first ?? Point2(0, 0), lb = la, best = -1.0
        for i in 0..<hull.count {
            for j in (i + 1)..<max(i + 1, hull.count) {
                let d = (hull[j] - hull[i]).dot(hull[j] - hull[i])
                if d > best { best = d; la = hull[i]; lb = hull[j] }
            }
        }
        // Short axis: the extent along the normal is piecewise linear in the position
        // along the long axis, so its maximum sits at an outline vertex's projection.
        var sa = la, sb = la
        let len = (lb - la).length
        if len > 0 {
            let u = (1 / len) * (lb - la)
            let nrm = Point2(-u.y, u.x)
            let t = mm.map { $0.dot(u) }, s = mm.map { $0.dot(nrm) }
            var bestExtent = -1.0
            for c in t {
                var lo = Double.infinity, hi = -Double.infinity
                for i in 0..<mm.count {
                    let j = i + 1 == mm.count ? 0 : i + 1
                    let a = t[i] - c, b = t[j] - c
                    if (a < 0 && b < 0) || (a > 0 && b > 0) { continue }
                    if a == b {
                        lo = min(lo, s[i], s[j]); hi = max(hi, s[i], s[j])
                    } else {
                        let v = s[i] + (s[j] - s[i]) * a / (a - b)
                        lo = min(lo, v); hi = max(hi, v)
                    }
                }
                if hi - lo > bestExtent {
                    bestExtent = hi - lo
                    sa = c * u + lo * nrm; sb = c * u + hi * nrm
                }
            }
        }
        return LesionMeasurement(areaPixels: areaPx, areaMM2: spacing == nil ? nil : areaPx * sx * sy,
                                 longAxis: axis(la, lb), shortAxis: axis(sa, sb))
    }
}

/// Convex hull (Andrew's monotone chain), counter-clockwise in y-up terms, no repeats.
func convexHull(_ points: [Point2]) -> [Point2] {
    let p = points.sorted { $0.x != $1.x ? $0.x < $1.x : $0.y < $1.y }
    if p.count < 3 { return p }
    var lower: [Point2] = [], upper: [Point2] = []
    for q in p {
        while lower.count >= 2 && (lower[lower.count - 1] - lower[lower.count - 2]).cross(q - lower[lower.count - 2]) <= 0 { lower.removeLast() }
        lower.append(q)
    }
    for q in p.reversed() {
        while upper.count >= 2 && (upper[upper.count - 1] - upper[upper.count - 2]).cross(q - upper[upper.count - 2]) <= 0 { upper.removeLast() }
        upper.append(q)
    }
    return Array(lower.dropLast() + upper.dropLast())
}
