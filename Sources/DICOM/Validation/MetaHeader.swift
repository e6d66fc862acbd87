/// The File Meta Information of a Part 10 file (PS3.10 7.1): always Explicit VR Little Endian,
/// group 0002 only, after the 128-byte preamble and "DICM".
struct MetaHeader {
    var transferSyntaxUID: String
    /// Offset of the dataset's first byte.
    var end: Int
    var elementCount: Int

    static let start = 132

    /// Whether the bytes carry the "DICM" marker after a 128-byte preamble.
    static func isPart10(_ source: ByteSource) throws(DatasetScanError) -> Bool {
        guard source.count >= start else { return false }
        return Array(try source.bytes(at: 128, length: 4)) == Array("DICM".utf8)
    }

    static func read(_ source: ByteSource, maxElements: Int) throws(DatasetScanError) -> MetaHeader {
        var p = start
        var count = 0
        var declaredEnd: Int?
        var transferSyntax: String?
        while p + 8 <= source.count {
            let head = try source.bytes(at: p, length: 8)
            func u16(_ i: Int) -> Int { Int(head[head.startIndex + i]) | Int(head[head.startIndex + i + 1]) << 8 }
            guard u16(0) == 0x0002 else { break }
            let tag = UInt32(0x0002) << 16 | UInt32(u16(2))
            count += 1
            guard count <= maxElements else { throw .tooManyElements(offset: p, limit: maxElements) }
            guard let vr = ValueRepresentation.name(head[head.startIndex + 4], head[head.startIndex + 5]),
                  ValueRepresentation.known.contains(vr), vr != "SQ" else {
                throw .metaHeader(reason: "\(TagText.of(tag)) at byte \(p) has no valid VR")
            }
            var length: Int
            var header = 8
            if ValueRepresentation.longLength.contains(vr) {
                guard p + 12 <= source.count else { throw .endsEarly(offset: p, what: "the meta header is cut off") }
                let l = try source.bytes(at: p + 8, length: 4)
                length = Int(l[l.startIndex]) | Int(l[l.startIndex + 1]) << 8 | Int(l[l.startIndex + 2]) << 16 | Int(l[l.startIndex + 3]) << 24
                header = 12
                guard length != 0xFFFF_FFFF else { throw .metaHeader(reason: "\(TagText.of(tag)) has an undefined length") }
            } else {
                length = u16(6)
            }
            let valueEnd = p + header + length
            guard valueEnd <= source.count else {
                throw .endsEarly(offset: p, what: "the meta header's \(TagText.of(tag)) runs past the end of the file")
            }
            if tag == 0x0002_0000 {
                guard vr == "UL", length == 4 else { throw .metaHeader(reason: "(0002,0000) is not a 4-byte UL") }
                let v = try source.bytes(at: p + header, length: 4)
                declaredEnd = valueEnd + (Int(v[v.startIndex]) | Int(v[v.startIndex + 1]) << 8 | Int(v[v.startIndex + 2]) << 16 | Int(v[v.startIndex + 3]) << 24)
            }
            if tag == 0x0002_0010, length <= 256 {
                let v = try source.bytes(at: p + header, length: length)
                transferSyntax = String(decoding: v.filter { $0 != 0 && $0 != 0x20 }, as: UTF8.self)
            }
            p = valueEnd
        }
        // DCMTK ends the meta header where (0002,0000) says: a value that disagrees with the
        // elements would make it read dataset bytes as meta elements or the reverse.
        if let declaredEnd, declaredEnd != p {
            throw .metaHeader(reason: "File Meta Information Group Length (0002,0000) ends the header at byte \(declaredEnd), its elements end at byte \(p)")
        }
        guard let transferSyntax, !transferSyntax.isEmpty else {
            throw .metaHeader(reason: "no Transfer Syntax UID (0002,0010)")
        }
        return MetaHeader(transferSyntaxUID: transferSyntax, end: p, elementCount: count)
    }
}
