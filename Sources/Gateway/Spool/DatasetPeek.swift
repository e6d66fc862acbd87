import Foundation

/// Reads SOP Instance UID and Study Instance UID from a Part 10 file without decoding it (folder
/// destinations group results by study). Walks top-level elements of an explicit or implicit
/// little-endian dataset and stops after (0020,000D), so pixel data is never read.
enum DatasetPeek {
    struct UIDs: Equatable { var sopInstanceUID: String?; var studyInstanceUID: String? }

    static func uids(in file: URL) -> UIDs {
        guard let handle = try? FileHandle(forReadingFrom: file) else { return UIDs() }
        defer { try? handle.close() }
        // The attributes before (0020,000D) take a few KiB in practice; the rest of 256 KiB,
        // which covers long private headers, is read only when they do not fit in the first 16.
        guard var data = try? handle.read(upToCount: 16 * 1024) else { return UIDs() }
        let found = uids(in: [UInt8](data))
        guard found.studyInstanceUID == nil, data.count == 16 * 1024,
              let more = try? handle.read(upToCount: 240 * 1024) else { return found }
        data.append(more)
        return uids(in: [UInt8](data))
    }

    static func uids(in b: [UInt8]) -> UIDs {
        var found = UIDs()
        guard b.count > 132, b[128] == 0x44, b[129] == 0x49, b[130] == 0x43, b[131] == 0x4D else { return found }
        var p = 132
        var explicit = true
        func u16(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
        func u32(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 | Int(b[i + 2]) << 16 | Int(b[i + 3]) << 24 }
        var inMeta = true
        while p + 8 <= b.count {
            let group = u16(p), element = u16(p + 2)
            if inMeta && group != 0x0002 { inMeta = false }
            let isExplicit = inMeta || explicit
            var length: Int
            var header: Int
            if isExplicit {
                let vr = String(bytes: b[(p + 4)..<(p + 6)], encoding: .ascii) ?? ""
                if ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"].contains(vr) {
                    guard p + 12 <= b.count else { return found }
                    length = u32(p + 8); header = 12
                } else {
                    length = u16(p + 6); header = 8
                }
            } else {
                length = u32(p + 4); header = 8
            }
            let tag = group << 16 | element
            if tag > 0x0020_000D { return found }
            if length == 0xFFFF_FFFF {
                // Undefined-length sequence: skip to its Sequence Delimitation Item (FFFE,E0DD).
                guard let end = sequenceEnd(b, from: p + header) else { return found }
                p = end
                continue
            }
            let start = p + header
            guard start + length <= b.count else { return found }
            if tag == 0x0002_0010 {
                let ts = String(bytes: b[start..<(start + length)], encoding: .ascii)?
                    .trimmingCharacters(in: CharacterSet(charactersIn: "\0 ")) ?? ""
                explicit = ts != "1.2.840.10008.1.2"
            }
            if tag == 0x0008_0018 || tag == 0x0020_000D {
                let value = String(bytes: b[start..<(start + length)], encoding: .ascii)?
                    .trimmingCharacters(in: CharacterSet(charactersIn: "\0 "))
                if tag == 0x0008_0018 { found.sopInstanceUID = value } else { found.studyInstanceUID = value; return found }
            }
            p = start + length
        }
        return found
    }

    /// Offset just past the delimitation item closing an undefined-length sequence at `p`.
    private static func sequenceEnd(_ b: [UInt8], from start: Int) -> Int? {
        var p = start
        var depth = 1
        // Scan for delimiters; nested undefined-length sequences and items raise the depth.
        while p + 8 <= b.count {
            let group = Int(b[p]) | Int(b[p + 1]) << 8
            let element = Int(b[p + 2]) | Int(b[p + 3]) << 8
            if group == 0xFFFE && element == 0xE0DD {
                depth -= 1
                p += 8
                if depth == 0 { return p }
                continue
            }
            if group == 0xFFFE && (element == 0xE000 || element == 0xE00D) { p += 8; continue }
            // An element inside an item: read explicit-style when the VR looks valid, else implicit.
            let vr = String(bytes: b[(p + 4)..<(p + 6)], encoding: .ascii) ?? ""
            let isVR = vr.count == 2 && vr.allSatisfy { $0.isUppercase }
            var length: Int, header: Int
            if isVR {
                if ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"].contains(vr) {
                    guard p + 12 <= b.count else { return nil }
                    length = Int(b[p + 8]) | Int(b[p + 9]) << 8 | Int(b[p + 10]) << 16 | Int(b[p + 11]) << 24; header = 12
                } else {
                    length = Int(b[p + 6]) | Int(b[p + 7]) << 8; header = 8
                }
            } else {
                length = Int(b[p + 4]) | Int(b[p + 5]) << 8 | Int(b[p + 6]) << 16 | Int(b[p + 7]) << 24; header = 8
            }
            if length == 0xFFFF_FFFF { depth += 1; p += header; continue }
            p += header + length
        }
        return nil
    }
}
