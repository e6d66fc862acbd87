import Analysis
import Foundation

/// The contours the editor works on: closed polygons in source pixel coordinates (x = column,
/// y = row, (0,0) the top-left corner of the first pixel, as the SVG and the presentation state).
/// The AI's traced curves become polygons of a few dozen points a person can drag; what comes
/// back is rasterised at source resolution and measured again.
public struct Contour: Codable, Sendable, Equatable {
    public var points: [[Double]]

    public init(points: [[Double]]) { self.points = points }
    public init(_ points: [Point2]) { self.points = points.map { [$0.x, $0.y] } }

    public var point2: [Point2] { points.compactMap { $0.count == 2 ? Point2($0[0], $0[1]) : nil } }

    /// Outer boundary orientation (positive signed area, y down), no repeated closing point.
    public var normalised: [Point2] {
        var pts = point2
        if pts.count > 1, pts.first == pts.last { pts.removeLast() }
        var a = 0.0
        for i in pts.indices { a += cross(pts[i], pts[(i + 1) % pts.count]) }
        return a < 0 ? Array(pts.reversed()) : pts
    }

    var closedPath: ClosedPath {
        let pts = normalised
        return ClosedPath(start: pts[0], segments: pts.dropFirst().map { .line(to: $0) } + [.line(to: pts[0])], isHole: false)
    }

    var component: TracedComponent { TracedComponent(outer: closedPath, holes: []) }
}

public enum ContourError: Error, CustomStringConvertible, Equatable {
    case tooFewPoints(index: Int, count: Int)
    case outside(index: Int, width: Int, height: Int)
    case tooMany(Int)
    case empty(index: Int)

    public var description: String {
        switch self {
        case .tooFewPoints(let i, let n): return "contour \(i + 1) has \(n) points; a contour needs at least 3 (delete it instead)"
        case .outside(let i, let w, let h): return "contour \(i + 1) has a point outside the \(w) x \(h) image; keep every point on the image"
        case .tooMany(let n): return "\(n) contours; at most 20 per image"
        case .empty(let i): return "contour \(i + 1) covers no pixel centre; draw it larger"
        }
    }
}

public enum ContourGeometry {
    /// The lesion outlines of an SVG path data string as WeCare writes it ("M x,y L ... C ... Z",
    /// absolute, one subpath per closed path): one polygon per subpath, simplified for editing.
    public static func polygons(fromSVGPath d: String, maxDeviation: Double = 0.75, simplify: Double = 1.0) -> [Contour] {
        parse(d).compactMap { path in
            var pts = path.polyline(maxDeviation: maxDeviation)
            if pts.count > 1, pts.first == pts.last { pts.removeLast() }
            // Rounded to 0.01 px: the browser sends back exactly what it got for every point it did
            // not move (a full-precision double need not survive a JSON round trip), so an
            // untouched outline compares equal to the AI's.
            let simplified = simplifyRing(pts, epsilon: simplify).map { Point2(($0.x * 100).rounded() / 100, ($0.y * 100).rounded() / 100) }
            return simplified.count >= 3 ? Contour(simplified) : nil
        }
    }

    /// Absolute M/L/C/Z path data (what `SVGRenderer` writes) into closed paths.
    static func parse(_ d: String) -> [ClosedPath] {
        var paths: [ClosedPath] = []
        var numbers: [Double] = []
        var command: Character = " "
        var start = Point2(0, 0)
        var segments: [PathSegment] = []
        var open = false
        func flush() {
            switch command {
            case "M":
                if numbers.count >= 2 { start = Point2(numbers[0], numbers[1]); open = true; segments = [] }
                var i = 2
                while i + 1 < numbers.count { segments.append(.line(to: Point2(numbers[i], numbers[i + 1]))); i += 2 }
            case "L":
                var i = 0
                while i + 1 < numbers.count { segments.append(.line(to: Point2(numbers[i], numbers[i + 1]))); i += 2 }
            case "C":
                var i = 0
                while i + 5 < numbers.count {
                    segments.append(.cubic(c1: Point2(numbers[i], numbers[i + 1]), c2: Point2(numbers[i + 2], numbers[i + 3]),
                                           to: Point2(numbers[i + 4], numbers[i + 5])))
                    i += 6
                }
            default: break
            }
            numbers = []
        }
        var token = ""
        func endToken() {
            if let v = Double(token) { numbers.append(v) }
            token = ""
        }
        for c in d {
            if "MLCZmlcz".contains(c) {
                endToken()
                flush()
                if c == "Z" || c == "z" {
                    if open, !segments.isEmpty {
                        if segments.last?.end != start { segments.append(.line(to: start)) }
                        paths.append(ClosedPath(start: start, segments: segments, isHole: false))
                    }
                    open = false
                    segments = []
                    command = " "
                } else {
                    command = Character(c.uppercased())
                }
            } else if c == "," || c == " " {
                endToken()
            } else if c == "-" && !token.isEmpty && !token.hasSuffix("e") {
                endToken()
                token = "-"
            } else {
                token.append(c)
            }
        }
        endToken()
        flush()
        return paths
    }

    /// Douglas-Peucker on a closed ring (split at the two farthest-apart points).
    static func simplifyRing(_ pts: [Point2], epsilon: Double) -> [Point2] {
        guard pts.count > 8 else { return pts }
        var far = 0
        var best = -1.0
        for (i, p) in pts.enumerated() where distance(p, pts[0]) > best { best = distance(p, pts[0]); far = i }
        let a = Array(pts[0...far]), b = Array(pts[far...]) + [pts[0]]
        let left = douglasPeucker(a, epsilon), right = douglasPeucker(b, epsilon)
        return Array(left.dropLast()) + Array(right.dropLast())
    }

    static func douglasPeucker(_ pts: [Point2], _ epsilon: Double) -> [Point2] {
        guard pts.count > 2 else { return pts }
        let a = pts[0], b = pts[pts.count - 1]
        let ab = Point2(b.x - a.x, b.y - a.y)
        let len = distance(a, b)
        var index = 0
        var dmax = 0.0
        for i in 1..<(pts.count - 1) {
            let d = len == 0 ? distance(pts[i], a) : abs(cross(ab, Point2(pts[i].x - a.x, pts[i].y - a.y))) / len
            if d > dmax { dmax = d; index = i }
        }
        guard dmax > epsilon else { return [a, b] }
        let left = douglasPeucker(Array(pts[0...index]), epsilon)
        let right = douglasPeucker(Array(pts[index...]), epsilon)
        return Array(left.dropLast()) + right
    }

    /// Checks contours a browser sent: at least 3 points each, every point on the image.
    public static func validate(_ contours: [Contour], width: Int, height: Int) throws {
        guard contours.count <= 20 else { throw ContourError.tooMany(contours.count) }
        for (i, c) in contours.enumerated() {
            let pts = c.normalised
            guard pts.count >= 3 else { throw ContourError.tooFewPoints(index: i, count: pts.count) }
            guard pts.allSatisfy({ $0.x.isFinite && $0.y.isFinite && $0.x >= 0 && $0.y >= 0
                                   && $0.x <= Double(width) && $0.y <= Double(height) }) else {
                throw ContourError.outside(index: i, width: width, height: height)
            }
        }
    }

    /// The union of the contours at source resolution (each rasterised on its own, so two
    /// overlapping contours do not cancel out as even-odd filling would).
    public static func mask(_ contours: [Contour], width: Int, height: Int) throws -> Mask {
        var bits = [UInt8](repeating: 0, count: width * height)
        for (i, c) in contours.enumerated() {
            let one = try PathRasterizer.rasterize([c.closedPath], width: width, height: height)
            guard one.bits.contains(1) else { throw ContourError.empty(index: i) }
            for k in bits.indices where one.bits[k] != 0 { bits[k] = 1 }
        }
        return try Mask(width: width, height: height, bits: bits)
    }

    public static func measure(_ contour: Contour, spacing: PixelSpacing?) -> LesionMeasurement {
        LesionMeasurement.measure(contour.component, spacing: spacing)
    }

    /// SVG path data of a contour, as `result.json` and `lesion.svg` carry it.
    public static func svgPath(_ contour: Contour) -> String { SVGRenderer().pathData(contour.component) }

    public static func svgDocument(_ contours: [Contour], width: Int, height: Int) -> String {
        SVGRenderer().document(contours.map(\.component), width: width, height: height)
    }
}

// Point2's arithmetic is internal to Analysis.
@inline(__always) func cross(_ a: Point2, _ b: Point2) -> Double { a.x * b.y - a.y * b.x }
@inline(__always) func distance(_ a: Point2, _ b: Point2) -> Double { ((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)).squareRoot() }
