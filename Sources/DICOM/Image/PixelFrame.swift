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
    /// Interleaved RGB -> luma for every pixel (dst.count pixels); the formula of `of`, inlined
    /// by hand so debug builds (tests) are not dominated by call overhead.
    static func convert(rgb src: UnsafeBufferPointer<UInt8>, into dst: UnsafeMutableBufferPointer<UInt8>) {
        guard let s = src.baseAddress, let d = dst.baseAddress, src.count >= dst.count * 3 else { return }
        var i = 0, j = 0
        while i < dst.count {
            let sum = 299 &* UInt32(s[j]) &+ 587 &* UInt32(s[j &+ 1]) &+ 114 &* UInt32(s[j &+ 2]) &+ 500
            d[i] = UInt8(truncatingIfNeeded: sum / 1000)
            i &+= 1
            j &+= 3
        }
    }

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
