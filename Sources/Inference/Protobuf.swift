/// Minimal protobuf wire-format reader: just enough to walk ONNX messages without codegen.
struct ProtoReader {
    let bytes: UnsafeRawBufferPointer
    var pos: Int
    let end: Int

    init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
        self.bytes = bytes
        pos = range?.lowerBound ?? 0
        end = range?.upperBound ?? bytes.count
    }

    var atEnd: Bool { pos >= end }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard pos < end else { throw InferenceError.malformedModel("truncated varint at byte \(pos)") }
            let b = bytes[pos]; pos += 1
            if shift < 64 { result |= UInt64(b & 0x7f) << shift }
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 70 { throw InferenceError.malformedModel("varint too long at byte \(pos)") }
        }
    }

    /// Returns (field number, wire type).
    mutating func tag() throws -> (Int, Int) {
        let t = try varint()
        return (Int(t >> 3), Int(t & 7))
    }

    mutating func fixed32() throws -> UInt32 {
        guard pos + 4 <= end else { throw InferenceError.malformedModel("truncated fixed32 at byte \(pos)") }
        let v = bytes.loadUnaligned(fromByteOffset: pos, as: UInt32.self); pos += 4
        return UInt32(littleEndian: v)
    }

    mutating func fixed64() throws -> UInt64 {
        guard pos + 8 <= end else { throw InferenceError.malformedModel("truncated fixed64 at byte \(pos)") }
        let v = bytes.loadUnaligned(fromByteOffset: pos, as: UInt64.self); pos += 8
        return UInt64(littleEndian: v)
    }

    /// A length-delimited field's byte range.
    mutating func lengthDelimited() throws -> Range<Int> {
        let n = Int(try varint())
        guard n >= 0, pos + n <= end else { throw InferenceError.malformedModel("length \(n) at byte \(pos) runs past the end") }
        defer { pos += n }
        return pos..<(pos + n)
    }

    mutating func sub() throws -> ProtoReader { ProtoReader(bytes, range: try lengthDelimited()) }

    mutating func string() throws -> String {
        let r = try lengthDelimited()
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[r]), as: UTF8.self)
    }

    mutating func skip(wireType: Int) throws {
        switch wireType {
        case 0: _ = try varint()
        case 1: _ = try fixed64()
        case 2: _ = try lengthDelimited()
        case 5: _ = try fixed32()
        default: throw InferenceError.malformedModel("unknown wire type \(wireType) at byte \(pos)")
        }
    }

    /// Repeated int64 field, packed (wire 2) or not (wire 0).
    mutating func appendInts(_ out: inout [Int64], wireType: Int) throws {
        if wireType == 2 {
            var s = try sub()
            while !s.atEnd { out.append(Int64(bitPattern: try s.varint())) }
        } else { out.append(Int64(bitPattern: try varint())) }
    }

    /// Repeated float field, packed (wire 2) or not (wire 5).
    mutating func appendFloats(_ out: inout [Float], wireType: Int) throws {
        if wireType == 2 {
            var s = try sub()
            while !s.atEnd { out.append(Float(bitPattern: try s.fixed32())) }
        } else { out.append(Float(bitPattern: try fixed32())) }
    }

    mutating func appendDoubles(_ out: inout [Double], wireType: Int) throws {
        if wireType == 2 {
            var s = try sub()
            while !s.atEnd { out.append(Double(bitPattern: try s.fixed64())) }
        } else { out.append(Double(bitPattern: try fixed64())) }
    }
}
