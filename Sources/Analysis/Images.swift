/// Plain raster types shared by every algorithm in this module: row-major, top-left origin,
/// y growing downwards. Pixel (x, y) covers the square [x, x+1] x [y, y+1] in pixel space,
/// so its centre is (x + 0.5, y + 0.5); traced paths use the same space.

/// An axis-aligned rectangle of whole pixels (for example the ultrasound field of view).
public struct PixelRect: Equatable, Hashable, Sendable, Codable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }

    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var area: Int { width * height }
    public var isEmpty: Bool { width <= 0 || height <= 0 }

    /// True when this rectangle lies fully inside a `width` x `height` image.
    public func fits(width w: Int, height h: Int) -> Bool {
        x >= 0 && y >= 0 && width > 0 && height > 0 && maxX <= w && maxY <= h
    }
}

/// Errors of this module; each message says what was wrong and what to do.
public enum AnalysisError: Error, Equatable, CustomStringConvertible {
    case sizeMismatch(expected: Int, got: Int, what: String)
    case invalidSize(width: Int, height: Int, what: String)
    case regionOutside(PixelRect, width: Int, height: Int)
    case nothingTraced(lesion: Int)

    public var description: String {
        switch self {
        case let .sizeMismatch(expected, got, what):
            return "\(what): pixel buffer holds \(got) values but width*height is \(expected); pass a row-major buffer of exactly width*height values"
        case let .invalidSize(w, h, what):
            return "\(what): size \(w)x\(h) is not usable; width and height must both be positive"
        case let .nothingTraced(lesion):
            return "lesion \(lesion) traced to no path; lower the tracer's turdSize below the minimum lesion area"
        case let .regionOutside(r, w, h):
            return "region x=\(r.x) y=\(r.y) \(r.width)x\(r.height) is empty or not inside the \(w)x\(h) image; clamp the field of view to the image first"
        }
    }
}

/// An 8-bit grayscale image.
public struct GrayImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0 else { throw AnalysisError.invalidSize(width: width, height: height, what: "GrayImage") }
        guard pixels.count == width * height else {
            throw AnalysisError.sizeMismatch(expected: width * height, got: pixels.count, what: "GrayImage")
        }
        self.width = width; self.height = height; self.pixels = pixels
    }

    public subscript(x: Int, y: Int) -> UInt8 { pixels[y * width + x] }

    /// The pixels inside `rect` (the field of view), as a new image.
    public func cropped(to rect: PixelRect) throws -> GrayImage {
        guard rect.fits(width: width, height: height) else {
            throw AnalysisError.regionOutside(rect, width: width, height: height)
        }
        var out = [UInt8](repeating: 0, count: rect.area)
        for row in 0..<rect.height {
            let src = (rect.y + row) * width + rect.x
            out.replaceSubrange(row * rect.width..<(row + 1) * rect.width, with: pixels[src..<src + rect.width])
        }
        return try GrayImage(width: rect.width, height: rect.height, pixels: out)
    }
}

/// Per-pixel foreground probabilities in [0, 1] (a model's sigmoid output).
public struct ProbabilityMap: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var values: [Float]

    public init(width: Int, height: Int, values: [Float]) throws {
        guard width > 0, height > 0 else { throw AnalysisError.invalidSize(width: width, height: height, what: "ProbabilityMap") }
        guard values.count == width * height else {
            throw AnalysisError.sizeMismatch(expected: width * height, got: values.count, what: "ProbabilityMap")
        }
        self.width = width; self.height = height; self.values = values
    }

    public subscript(x: Int, y: Int) -> Float { values[y * width + x] }
}

/// A binary mask: 1 = lesion, 0 = background.
public struct Mask: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// Row-major 0/1 values.
    public var bits: [UInt8]

    public init(width: Int, height: Int, bits: [UInt8]) throws {
        guard width > 0, height > 0 else { throw AnalysisError.invalidSize(width: width, height: height, what: "Mask") }
        guard bits.count == width * height else {
            throw AnalysisError.sizeMismatch(expected: width * height, got: bits.count, what: "Mask")
        }
        self.width = width; self.height = height
        self.bits = bits.map { $0 == 0 ? 0 : 1 }
    }

    /// Trusted constructor for buffers this module built (already 0/1, right size).
    init(validated width: Int, height: Int, bits: [UInt8]) {
        self.width = width; self.height = height; self.bits = bits
    }

    /// An all-background mask.
    public init(width: Int, height: Int) throws {
        try self.init(width: width, height: height, bits: [UInt8](repeating: 0, count: max(0, width * height)))
    }

    public subscript(x: Int, y: Int) -> Bool {
        get { bits[y * width + x] != 0 }
        set { bits[y * width + x] = newValue ? 1 : 0 }
    }

    /// Number of foreground pixels.
    public var foregroundCount: Int { bits.reduce(0) { $0 + Int($1) } }

    /// Intersection over union of the foreground of two same-size masks (1 when both are empty).
    public func iou(_ other: Mask) throws -> Double {
        guard other.width == width, other.height == height else {
            throw AnalysisError.sizeMismatch(expected: width * height, got: other.width * other.height, what: "Mask.iou")
        }
        var inter = 0, union = 0
        for i in 0..<bits.count {
            let a = bits[i], b = other.bits[i]
            inter += Int(a & b); union += Int(a | b)
        }
        return union == 0 ? 1 : Double(inter) / Double(union)
    }
}
