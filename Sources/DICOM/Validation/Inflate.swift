import CZlib

/// Raw DEFLATE (RFC 1951, no zlib header: PS3.5 A.5) of a Deflated Explicit VR Little Endian
/// dataset, inflated so its structure can be checked like any other; the file itself stays as
/// it is for DCMTK. Stops at `limit` bytes, so a deflate bomb costs at most that much memory.
enum Inflate {
    static func raw(_ input: ArraySlice<UInt8>, limit: Int) throws(DatasetScanError) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .malformed(offset: 0, reason: "zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        let input = Array(input)
        var status: Int32 = Z_OK
        input.withUnsafeBufferPointer { inBuffer in
            stream.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
            stream.avail_in = uInt(inBuffer.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    output.append(contentsOf: out.prefix(out.count - Int(stream.avail_out)))
                }
            } while status == Z_OK && output.count <= limit && (stream.avail_in > 0 || stream.avail_out == 0)
        }
        guard output.count <= limit else { throw .inflatesTooLarge(limit: limit) }
        guard status == Z_STREAM_END else {
            throw .endsEarly(offset: Int(stream.total_in), what: "the deflated dataset stops before its end (zlib status \(status))")
        }
        return output
    }
}
