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
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = UInt32(PNG_FORMAT_GRAY)
        var size: Int = 0
        // First call measures, second writes.
        guard pixels.withUnsafeBytes({ png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, Int32(width), nil) }) != 0
        else { throw Error.encodeFailed(message(of: image)) }
        var out = Data(count: size)
        let ok = out.withUnsafeMutableBytes { buf in
            pixels.withUnsafeBytes { png_image_write_to_memory(&image, buf.baseAddress, &size, 0, $0.baseAddress, Int32(width), nil) }
        }
        guard ok != 0 else { throw Error.encodeFailed(message(of: image)) }
        return out.prefix(size)
    }

    private static func message(of image: png_image) -> String {
        var m = image.message
        return withUnsafeBytes(of: &m) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
