import CPNG
import Foundation

/// 8-bit grayscale PNG in and out, through libpng's simplified API (colour input is reduced to
/// gray with libpng's sRGB luminance; BUSI and the HTTP clients send grayscale).
public enum PNGCodec {
    public struct Image: Sendable, Equatable {
        public var width: Int
        public var height: Int
        public var pixels: [UInt8]
    }

    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case notPNG(String)
        case tooLarge(width: Int, height: Int, limit: Int)
        case encodeFailed(String)

        public var description: String {
            switch self {
            case .notPNG(let why): return "not a readable PNG: \(why)"
            case .tooLarge(let w, let h, let limit):
                return "PNG is \(w)x\(h); images over \(limit) pixels per side are refused"
            case .encodeFailed(let why): return "PNG encoding failed: \(why)"
            }
        }
    }

    /// Decodes any PNG to 8-bit gray. `maxSide` guards memory against hostile headers.
    public static func decodeGray(_ data: Data, maxSide: Int = 8192) throws -> Image {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let begun = data.withUnsafeBytes { raw in
            png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count)
        }
        guard begun != 0 else { throw Error.notPNG(message(of: image)) }
        defer { png_image_free(&image) }
        let w = Int(image.width), h = Int(image.height)
        guard w <= maxSide, h <= maxSide else { throw Error.tooLarge(width: w, height: h, limit: maxSide) }
        image.format = UInt32(PNG_FORMAT_GRAY)
        var pixels = [UInt8](repeating: 0, count: w * h)
        let finished = data.withUnsafeBytes { _ in
            pixels.withUnsafeMutableBytes { out in
                png_image_finish_read(&image, nil, out.baseAddress, Int32(w), nil)
            }
        }
        guard finished != 0 else { throw Error.notPNG(message(of: image)) }
        return Image(width: w, height: h, pixels: pixels)
    }

    /// Encodes 8-bit gray pixels (row-major) as PNG.
    public static func encodeGray(width: Int, height: Int, pixels: [UInt8]) throws -> Data {
        precondition(pixels.count == width * height, "pixel count must be width x height")
        return try encodePixels(width: width, height: height, pixels: pixels, samples: 1)
    }

    /// Encodes interleaved 8-bit RGB pixels (row-major) as PNG (the reading room's image view).
    public static func encodeRGB(width: Int, height: Int, pixels: [UInt8]) throws -> Data {
        precondition(pixels.count == width * height * 3, "pixel count must be width x height x 3")
        return try encodePixels(width: width, height: height, pixels: pixels, samples: 3)
    }

    private static func encodePixels(width: Int, height: Int, pixels: [UInt8], samples: Int) throws -> Data {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = samples == 3 ? UInt32(PNG_FORMAT_FLAG_COLOR) : UInt32(PNG_FORMAT_GRAY)  // PNG_FORMAT_RGB is FLAG_COLOR
        // One pass into a buffer of libpng's own upper bound (PNG_IMAGE_PNG_SIZE_MAX, a C macro
        // Swift cannot import); measuring first would compress the image twice.
        var size = maxEncodedSize(width: width * samples, height: height)
        var out = Data(count: size)
        var ok = write(&image, pixels, width * samples, into: &out, &size)
        if ok == 0 && size > out.count {  // the bound was short after all: libpng says how much it needs
            out = Data(count: size)
            ok = write(&image, pixels, width * samples, into: &out, &size)
        }
        guard ok != 0 else { throw Error.encodeFailed(message(of: image)) }
        return Data(out.prefix(size))  // a copy, so the worst-case buffer is not kept alive
    }

    private static func write(_ image: inout png_image, _ pixels: [UInt8], _ width: Int, into out: inout Data,
                              _ size: inout Int) -> Int32 {
        size = out.count
        return out.withUnsafeMutableBytes { buf in
            pixels.withUnsafeBytes { png_image_write_to_memory(&image, buf.baseAddress, &size, 0, $0.baseAddress, Int32(width), nil) }
        }
    }

    /// png.h's PNG_IMAGE_PNG_SIZE_MAX for 8-bit gray: signature, IHDR, gAMA, cHRM, IEND, one IDAT
    /// header per PNG_ZBUF_SIZE (8192) bytes, and zlib's worst case for the filtered rows.
    static func maxEncodedSize(width: Int, height: Int) -> Int {
        let raw = height * (width + 1)
        let zlib = raw + (raw + 7) / 8 + (raw + 63) / 64 + 11
        return 8 + 25 + 16 + 44 + 12 + 12 + 12 * (zlib / 8192) + zlib
    }

    private static func message(of image: png_image) -> String {
        var m = image.message
        return withUnsafeBytes(of: &m) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
