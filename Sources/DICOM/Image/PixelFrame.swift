/// One decoded frame, 8 bits per sample, rows top to bottom.
public struct GrayscaleFrame: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// width x height luminance bytes, 0 = black.
    public var pixels: [UInt8]
}

/// One decoded frame as interleaved RGB (R, G, B per pixel), 8 bits per sample.
public struct RGBFrame: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// width x height x 3 bytes.
    public var pixels: [UInt8]
}

enum Luma {
    /// round(0.299 R + 0.587 G + 0.114 B) (ITU-R BT.601 luma), in integers so it is exact.
    /// The models are trained on 8-bit grayscale, where this is the identity for R = G = B.
    @inline(__always)
    static func of(r: UInt8, g: UInt8, b: UInt8) -> UInt8 {
        let red: UInt32 = 299 * UInt32(r)
        let green: UInt32 = 587 * UInt32(g)
        let blue: UInt32 = 114 * UInt32(b)
        return UInt8((red + green + blue + 500) / 1000)
    }
}
