/// Connected-component labelling on row-major 0/1 buffers.
public enum Connectivity: Sendable, Equatable {
    /// Edge neighbours only.
    case four
    /// Edge and corner neighbours.
    case eight

    /// The connectivity that keeps foreground/background topology consistent (4 <-> 8).
    public var complement: Connectivity { self == .four ? .eight : .four }
}

/// Labels of every pixel whose value equals `value`: 0 elsewhere, 1... per component in
/// scan order. Returns the labels and each component's pixel count (index = label - 1).
func labelComponents(_ bits: [UInt8], width: Int, height: Int, value: UInt8,
                     connectivity: Connectivity) -> (labels: [Int32], sizes: [Int]) {
    // Two passes over runs (maximal horizontal stretches of `value`) with union-find: a few
    // thousand runs instead of a quarter-million pixel visits with neighbour checks.
    var runStart: [Int32] = [], runEnd: [Int32] = [], runRow: [Int32] = []
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
            let rowFirst = runStart.count
            var x = 0
            let base = y * width
            var above = previousRows.lowerBound
            while x < width {
                if b[base + x] != value { x += 1; continue }
                let s = x
                while x < width && b[base + x] == value { x += 1 }
                let r = Int32(runStart.count)
                runStart.append(Int32(s)); runEnd.append(Int32(x - 1)); runRow.append(Int32(y)); parent.append(r)
                // Runs of the row above that touch [s - reach, x - 1 + reach].
                while above < previousRows.upperBound && runEnd[above] < Int32(s) - reach { above += 1 }
                var k = above
                while k < previousRows.upperBound && runStart[k] <= Int32(x - 1) + reach {
                    union(Int32(k), r)
                    k += 1
                }
            }
            previousRows = rowFirst..<runStart.count
        }
    }
    var labels = [Int32](repeating: 0, count: bits.count)
    var sizes: [Int] = []
    var finalLabel = [Int32](repeating: 0, count: runStart.count)
    labels.withUnsafeMutableBufferPointer { out in
        for r in 0..<runStart.count {
            let root = Int(find(Int32(r)))
            if finalLabel[root] == 0 { sizes.append(0); finalLabel[root] = Int32(sizes.count) }
            let label = finalLabel[root]
            let s = Int(runStart[r]), e = Int(runEnd[r]), base = Int(runRow[r]) * width
            sizes[Int(label) - 1] += e - s + 1
            for i in (base + s)...(base + e) { out[i] = label }
        }
    }
    return (labels, sizes)
}
