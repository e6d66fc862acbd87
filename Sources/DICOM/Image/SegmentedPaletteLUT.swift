/// Expands Segmented Palette Color Lookup Table Data (0028,1221..1223), PS3.3 C.7.9.2, into
/// the plain table of entries it stands for. DCMTK 3.6.7's image module cannot ("segmented
/// palettes not yet supported"), and ALOKA scanners send them.
///
/// The data is a stream of segments, each an opcode and a length n:
/// - 0 discrete: n entries follow and are copied as they are;
/// - 1 linear: one entry y1 follows; n entries go from the last entry written, y0, to y1
///   (the first y0 + (y1 - y0) / n, the last y1);
/// - 2 indirect: a 32-bit offset follows (two 16-bit words, low word first, or four bytes
///   for 8-bit entries); the n segments found at that offset are run again here.
///
/// Two readings are pinned to pydicom's `apply_color_lut`, the reference the tests compare
/// with: the indirect offset counts entries of the stream (pydicom slices its list of words
/// with it), although the standard's text calls it a byte offset; no scanner file we have
/// uses indirect segments, so it could not be settled on real data. Linear entries are
/// numpy's `linspace(y0 + step, y1, n)` rounded half to even, computed the same way so that
/// ties round alike.
public enum SegmentedPaletteLUT {
    /// Why a stream cannot be expanded; the message says what is wrong in the data.
    public enum ExpansionError: Error, Equatable, CustomStringConvertible {
        case truncated(segmentAt: Int)
        case unknownOpcode(Int, segmentAt: Int)
        case nothingBefore(opcode: Int)
        case offsetOutOfRange(Int, segmentAt: Int)
        case tooDeep
        case tooLong(limit: Int)

        public var description: String {
            switch self {
            case let .truncated(at):
                return "the segment at entry \(at) runs past the end of the data"
            case let .unknownOpcode(op, at):
                return "unknown segment opcode \(op) at entry \(at) (PS3.3 C.7.9.2 defines 0, 1 and 2)"
            case let .nothingBefore(op):
                return "a \(op == 1 ? "linear" : "indirect") segment comes first, with no entry before it to start from"
            case let .offsetOutOfRange(offset, at):
                return "the indirect segment at entry \(at) points to entry \(offset), outside the data"
            case .tooDeep:
                return "indirect segments refer to each other more than \(SegmentedPaletteLUT.maxDepth) levels deep (a loop)"
            case let .tooLong(limit):
                return "the segments expand to more than \(limit) entries"
            }
        }
    }

    /// A table has at most 65536 entries (a descriptor's 0 means 65536).
    public static let maxEntries = 65536
    /// Indirect segments within indirect segments, at most (a loop never ends otherwise).
    static let maxDepth = 8

    /// Expands 16-bit segment data (`words` as read from the OW value) or, for 8-bit entries
    /// (`bitsPerEntry` 8), the bytes of those words in little-endian order (low byte first,
    /// as they lie in the file).
    public static func expand(words: [UInt16], bitsPerEntry: Int, limit: Int = maxEntries) throws -> [UInt16] {
        if bitsPerEntry == 8 {
            var bytes: [Int] = []
            bytes.reserveCapacity(words.count * 2)
            for w in words { bytes.append(Int(w & 0xFF)); bytes.append(Int(w >> 8)) }
            return try expand(entries: bytes, offsetEntries: 4, limit: limit)
        }
        return try expand(entries: words.map(Int.init), offsetEntries: 2, limit: limit)
    }

    /// `offsetEntries`: how many stream entries an indirect segment's 32-bit offset takes.
    static func expand(entries data: [Int], offsetEntries: Int, limit: Int) throws -> [UInt16] {
        var out: [Int] = []
        out.reserveCapacity(min(limit, 65536))
        try run(data, from: 0, segments: nil, offsetEntries: offsetEntries, depth: 0, limit: limit, into: &out)
        return out.map { UInt16(clamping: $0) }
    }

    /// Runs segments from `start` until the data ends or `segments` have run.
    private static func run(_ data: [Int], from start: Int, segments: Int?, offsetEntries: Int, depth: Int,
                            limit: Int, into out: inout [Int]) throws {
        guard depth <= maxDepth else { throw ExpansionError.tooDeep }
        var i = start
        var done = 0
        // `i + 1 < count`: a trailing pad entry (odd byte counts are padded) is not a segment.
        while i + 1 < data.count, segments.map({ done < $0 }) ?? true {
            let at = i
            let opcode = data[i], length = data[i + 1]
            i += 2
            switch opcode {
            case 0:
                guard i + length <= data.count else { throw ExpansionError.truncated(segmentAt: at) }
                guard out.count + length <= limit else { throw ExpansionError.tooLong(limit: limit) }
                out.append(contentsOf: data[i..<(i + length)])
                i += length
            case 1:
                guard i < data.count else { throw ExpansionError.truncated(segmentAt: at) }
                guard let y0 = out.last else { throw ExpansionError.nothingBefore(opcode: 1) }
                guard out.count + length <= limit else { throw ExpansionError.tooLong(limit: limit) }
                out.append(contentsOf: linear(from: y0, to: data[i], count: length))
                i += 1
            case 2:
                guard i + offsetEntries <= data.count else { throw ExpansionError.truncated(segmentAt: at) }
                guard !out.isEmpty else { throw ExpansionError.nothingBefore(opcode: 2) }
                let offset: Int
                if offsetEntries == 2 {
                    offset = data[i] | data[i + 1] << 16
                } else {
                    offset = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
                }
                guard offset >= 0, offset + 1 < data.count else {
                    throw ExpansionError.offsetOutOfRange(offset, segmentAt: at)
                }
                i += offsetEntries
                if length > 0 {
                    try run(data, from: offset, segments: length, offsetEntries: offsetEntries, depth: depth + 1,
                            limit: limit, into: &out)
                }
            default:
                throw ExpansionError.unknownOpcode(opcode, segmentAt: at)
            }
            done += 1
        }
    }

    /// n entries from just after y0 to y1: numpy's `around(linspace(y0 + (y1 - y0) / n, y1, n))`,
    /// with linspace's own arithmetic (i * step + start, the last set to y1) and ties to even.
    static func linear(from y0: Int, to y1: Int, count n: Int) -> [Int] {
        guard n > 0 else { return [] }
        if y0 == y1 { return [Int](repeating: y1, count: n) }
        let start = Double(y0) + Double(y1 - y0) / Double(n)
        let stop = Double(y1)
        guard n > 1 else { return [Int(start.rounded(.toNearestOrEven))] }
        let step = (stop - start) / Double(n - 1)
        var values = (0..<n).map { Int((Double($0) * step + start).rounded(.toNearestOrEven)) }
        values[n - 1] = y1
        return values
    }
}
