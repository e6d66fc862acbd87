/// Vector paths in source-image pixel space (y down, pixel centres at +0.5).
public struct Point2: Equatable, Hashable, Sendable, Codable {
    public var x: Double
    public var y: Double
    public init(_ x: Double, _ y: Double) { self.x = x; self.y = y }

    @inline(__always) static func + (a: Point2, b: Point2) -> Point2 { Point2(a.x + b.x, a.y + b.y) }
    @inline(__always) static func - (a: Point2, b: Point2) -> Point2 { Point2(a.x - b.x, a.y - b.y) }
    @inline(__always) static func * (k: Double, a: Point2) -> Point2 { Point2(k * a.x, k * a.y) }
    /// Cross product (z of the 3-D cross product).
    @inline(__always) func cross(_ b: Point2) -> Double { x * b.y - y * b.x }
    @inline(__always) func dot(_ b: Point2) -> Double { x * b.x + y * b.y }
    var length: Double { (x * x + y * y).squareRoot() }
    /// The point at parameter `t` on the segment a -> b.
    @inline(__always) static func lerp(_ a: Point2, _ b: Point2, _ t: Double) -> Point2 {
        Point2(a.x + t * (b.x - a.x), a.y + t * (b.y - a.y))
    }
}

/// Maps tracing coordinates (the traced mask's pixel space) to source pixel space:
/// `source = offset + scale * p`, per axis. Lets one tracer serve a mask that was
/// cropped to, or upsampled from, the field of view.
public struct PixelTransform: Equatable, Sendable {
    public var scaleX: Double, scaleY: Double, offsetX: Double, offsetY: Double
    public init(scaleX: Double = 1, scaleY: Double = 1, offsetX: Double = 0, offsetY: Double = 0) {
        self.scaleX = scaleX; self.scaleY = scaleY; self.offsetX = offsetX; self.offsetY = offsetY
    }
    public static let identity = PixelTransform()

    /// A mask of `maskWidth` x `maskHeight` pixels covering `region` of the source image.
    public init(maskWidth: Int, maskHeight: Int, covering region: PixelRect) {
        self.init(scaleX: Double(region.width) / Double(maskWidth), scaleY: Double(region.height) / Double(maskHeight),
                  offsetX: Double(region.x), offsetY: Double(region.y))
    }

    @inline(__always) public func apply(_ p: Point2) -> Point2 {
        Point2(offsetX + scaleX * p.x, offsetY + scaleY * p.y)
    }
}

/// One piece of a closed path; each starts where the previous one ended.
public enum PathSegment: Equatable, Sendable {
    case line(to: Point2)
    /// Cubic Bezier with control points `c1`, `c2`.
    case cubic(c1: Point2, c2: Point2, to: Point2)

    public var end: Point2 {
        switch self {
        case let .line(p): return p
        case let .cubic(_, _, p): return p
        }
    }
}

/// A closed path: starts at `start`, the last segment ends at `start` again.
public struct ClosedPath: Equatable, Sendable {
    public var start: Point2
    public var segments: [PathSegment]
    /// True for a hole; holes run the opposite way round to outer boundaries
    /// (outer: clockwise on screen, i.e. positive `signedArea` with y down).
    public var isHole: Bool

    public init(start: Point2, segments: [PathSegment], isHole: Bool) {
        self.start = start; self.segments = segments; self.isHole = isHole
    }

    public func transformed(_ t: PixelTransform) -> ClosedPath {
        ClosedPath(start: t.apply(start), segments: segments.map {
            switch $0 {
            case let .line(p): return .line(to: t.apply(p))
            case let .cubic(a, b, p): return .cubic(c1: t.apply(a), c2: t.apply(b), to: t.apply(p))
            }
        }, isHole: isHole)
    }

    /// The same path run backwards.
    public func reversed() -> ClosedPath {
        var out: [PathSegment] = []
        out.reserveCapacity(segments.count)
        var ends = [start] + segments.map(\.end)
        ends.removeLast()  // == start
        for i in stride(from: segments.count - 1, through: 0, by: -1) {
            let from = ends[i]
            switch segments[i] {
            case .line: out.append(.line(to: from))
            case let .cubic(a, b, _): out.append(.cubic(c1: b, c2: a, to: from))
            }
        }
        return ClosedPath(start: start, segments: out, isHole: isHole)
    }
}

/// One lesion: its outer boundary and the holes directly inside it.
public struct TracedComponent: Equatable, Sendable {
    public var outer: ClosedPath
    public var holes: [ClosedPath]
    public var paths: [ClosedPath] { [outer] + holes }
    public var segmentCount: Int { paths.reduce(0) { $0 + $1.segments.count } }

    public init(outer: ClosedPath, holes: [ClosedPath]) {
        self.outer = outer
        self.holes = holes
    }

    public func transformed(_ t: PixelTransform) -> TracedComponent {
        TracedComponent(outer: outer.transformed(t), holes: holes.map { $0.transformed(t) })
    }
}
