/// The headers of compressed frames, read before any decoder runs: a decoder trusts them to
/// size its buffers (a JPEG declaring 65535 x 65535 made DCMTK allocate 12.9 GB; an RLE segment
/// offset of 0xFFFFFF00 made its RLE decoder read far outside the fragment).
enum CompressedFrameHeaders {
    /// A JPEG or JPEG-LS frame header (SOFn, PS3.5 A.4.1; ISO 10918-1 B.2.2, 14495-1 C.2.2).
    struct FrameHeader: Equatable {
        var precision: Int
        var height: Int
        var width: Int
        var components: Int
    }

    /// Whether a fragment starts with a JPEG Start of Image marker (FFD8 FF).
    static func startsWithSOI(_ bytes: ByteSource, _ fragment: ByteRange) throws(DatasetScanError) -> Bool {
        guard fragment.length >= 3 else { return false }
        let head = try bytes.bytes(at: fragment.offset, length: 3)
        return Array(head) == [0xFF, 0xD8, 0xFF]
    }

    /// The first SOFn (or JPEG-LS SOF55) of the JPEG stream starting `fragment`. Segments are
    /// skipped by their lengths, so only their 4-byte headers are read.
    static func jpegFrameHeader(_ bytes: ByteSource, _ fragment: ByteRange) throws(ImageCheckFailure) -> FrameHeader {
        func fail(_ why: String) -> ImageCheckFailure { .compressedHeader(reason: "JPEG frame header: \(why)") }
        func read(_ at: Int, _ n: Int) throws(ImageCheckFailure) -> [UInt8] {
            guard at + n <= fragment.offset + fragment.length else { throw fail("no SOF marker in the first fragment") }
            do { return Array(try bytes.bytes(at: at, length: n)) } catch { throw .unreadable(reason: "\(error)") }
        }
        guard try read(fragment.offset, 2) == [0xFF, 0xD8] else { throw fail("the fragment does not start with SOI (FFD8)") }
        var p = fragment.offset + 2  // at the next marker's FF
        while true {
            guard try read(p, 1)[0] == 0xFF else { throw fail("marker expected at fragment byte \(p - fragment.offset)") }
            var q = p + 1  // the marker code, after any fill bytes (FF)
            var code = try read(q, 1)[0]
            while code == 0xFF { q += 1; code = try read(q, 1)[0] }
            switch code {
            case 0xD0...0xD8, 0x01:
                p = q + 1  // markers without a segment
            case 0xDA, 0xD9:
                throw fail("scan data before any SOF marker")
            case 0xC0...0xC3, 0xC5...0xC7, 0xC9...0xCB, 0xCD...0xCF, 0xF7:
                // Lf (2), P (1), Y (2), X (2), Nf (1)
                let s = try read(q + 1, 8)
                return FrameHeader(precision: Int(s[2]), height: Int(s[3]) << 8 | Int(s[4]),
                                   width: Int(s[5]) << 8 | Int(s[6]), components: Int(s[7]))
            default:
                let l = try read(q + 1, 2)
                let length = Int(l[0]) << 8 | Int(l[1])
                guard length >= 2 else { throw fail("a segment length below 2") }
                p = q + 1 + length
            }
        }
    }

    /// The RLE header of one frame's fragment (PS3.5 G.5): segment count and 15 offsets.
    static func checkRLEHeader(_ bytes: ByteSource, _ fragment: ByteRange, expectedSegments: Int,
                               frame: Int) throws(ImageCheckFailure) {
        func fail(_ why: String) -> ImageCheckFailure { .rleHeader(reason: "frame \(frame + 1): \(why)") }
        guard fragment.length >= 64 else { throw fail("the fragment (\(fragment.length) bytes) is shorter than the 64-byte RLE header") }
        let h: [UInt8]
        do { h = Array(try bytes.bytes(at: fragment.offset, length: 64)) } catch { throw .unreadable(reason: "\(error)") }
        func u32(_ i: Int) -> Int { Int(h[4 * i]) | Int(h[4 * i + 1]) << 8 | Int(h[4 * i + 2]) << 16 | Int(h[4 * i + 3]) << 24 }
        let segments = u32(0)
        guard segments == expectedSegments else {
            throw fail("\(segments) segments, but Samples per Pixel and Bits Allocated call for \(expectedSegments)")
        }
        var previous = 0
        for i in 0..<segments {
            let offset = u32(1 + i)
            if i == 0 && offset != 64 { throw fail("the first segment starts at byte \(offset), not 64 right after the header") }
            guard offset > previous, offset < fragment.length else {
                throw fail("segment \(i + 1) starts at byte \(offset), outside \(previous + 1)..<\(fragment.length)")
            }
            previous = offset
        }
    }
}
