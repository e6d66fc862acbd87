/// Connected-component labelling on row-major 0/1 buffers.
public enum Connectivity: Sendable, Equatable {
    /// Edge neighbours only.
    case four
    /// Edge and corner neighbours.
    case eight

    /// The connectivity that keeps foreground/background topology consistent (4 <-> 8).
    public var complement: Connectivity { self == .four ? .eight : .four }
}

/// A maximal horizontal stretch of equal pixels, `start...end` on `row`.
struct PixelRun: Equatable, Sendable {
    var row: Int32
    var start: Int32
    var end: Int32
    /// 1-based component label.
    var label: Int32

    var length: Int { Int(end - start) + 1 }
}

/// The components of every pixel whose value equals `value`, as runs in scan order (labels
/// 1... in scan order of each component's first pixel) and each component's pixel count
/// (index = label - 1). Postprocessing works on these runs, not on pixels: a lesion mask
/// at source resolution has a few thousand runs and a quarter-million pixels.
func componentRuns(_ bits: [UInt8], width: Int, height: Int, value: UInt8,
                   connectivity: Connectivity) -> (runs: [PixelRun], sizes: [Int]) {
    var runs: [PixelRun] = []
    var parent: [Int32] = []
    func find(_ r: Int32) -> Int32 {
        var r = r
        while parent[Int(r)] != r { parent[Int(r)] = parent[Int(parent[Int(r)])]; r = parent[Int(r)] }
        return r
    }
    // Unions keep the earlier run as root, so a component's root is its first run in scan order.
    func union(_ a: Int32, _ b: Int32) {
        let ra = find(a), rb = find(b)
        if ra < rb { parent[Int(rb)] = ra } else if rb < ra { parent[Int(ra)] = rb }
    }
    let reach: Int32 = connectivity == .eight ? 1 : 0
    var previousRows = 0..<0
    bits.withUnsafeBufferPointer { b in
        for y in 0..<height {
            let rowFirst = runs.count
            var x = 0
            let row = b.baseAddress! + y * width
            var above = previousRows.lowerBound
            while x < width {
                x = scan(row, from: x, width: width, value: value, equal: true)
                if x == width { break }
                let s = x
                x = scan(row, from: x, width: width, value: value, equal: false)
                let r = Int32(runs.count)
                runs.append(PixelRun(row: Int32(y), start: Int32(s), end: Int32(x - 1), label: 0)); parent.append(r)
                // Runs of the row above that touch [s - reach, x - 1 + reach].
                while above < previousRows.upperBound && runs[above].end < Int32(s) - reach { above += 1 }
                var k = above
                while k < previousRows.upperBound && runs[k].start <= Int32(x - 1) + reach {
                    union(Int32(k), r)
                    k += 1
                }
            }
            previousRows = rowFirst..<runs.count
        }
    }
    var sizes: [Int] = []
    var finalLabel = [Int32](repeating: 0, count: runs.count)
    for r in runs.indices {
        let root = Int(find(Int32(r)))
        if finalLabel[root] == 0 { sizes.append(0); finalLabel[root] = Int32(sizes.count) }
        runs[r].label = finalLabel[root]
        sizes[Int(finalLabel[root]) - 1] += runs[r].length
    }
    return (runs, sizes)
}

/// The first index at or after `from` whose byte equals `value` (`equal`) or differs from it,
/// else `width`. Eight bytes at a time: masks are mostly long stretches of one value, and the
/// byte-by-byte loop was most of a gateway job's postprocessing.
@inline(__always)
private func scan(_ row: UnsafePointer<UInt8>, from start: Int, width: Int, value: UInt8, equal: Bool) -> Int {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let pattern = UInt64(value) &* ones
    var x = start
    while x + 8 <= width {
        let w = UInt64(littleEndian: UnsafeRawPointer(row + x).loadUnaligned(as: UInt64.self)) ^ pattern
        // equal: the lowest zero byte of w (the classic has-zero-byte test is exact for the
        // lowest one); differs: the lowest non-zero byte.
        let hit = equal ? (w &- ones) & ~w & (ones &* 0x80) : w
        if hit != 0 { return x + hit.trailingZeroBitCount / 8 }
        x += 8
    }
    while x < width && (row[x] == value) != equal { x += 1 }
    return x
}

/// Writes `value(run)` over every pixel of each run (nil: leave the run alone).
func paint<T>(_ runs: [PixelRun], into buffer: inout [T], width: Int, _ value: (PixelRun) -> T?) {
    buffer.withUnsafeMutableBufferPointer { out in
        for run in runs {
            guard let v = value(run) else { continue }
            let base = Int(run.row) * width
            (out.baseAddress! + base + Int(run.start)).update(repeating: v, count: run.length)
        }
    }
}
