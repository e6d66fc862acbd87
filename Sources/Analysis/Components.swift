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
    var labels = [Int32](repeating: 0, count: bits.count)
    var sizes: [Int] = []
    var stack: [Int] = []
    let eight = connectivity == .eight
    for start in 0..<bits.count where bits[start] == value && labels[start] == 0 {
        let label = Int32(sizes.count + 1)
        labels[start] = label
        stack.append(start)
        var count = 0
        while let p = stack.popLast() {
            count += 1
            let x = p % width, y = p / width
            for dy in -1...1 {
                let ny = y + dy
                if ny < 0 || ny >= height { continue }
                for dx in -1...1 where (dx != 0 || dy != 0) && (eight || dx == 0 || dy == 0) {
                    let nx = x + dx
                    if nx < 0 || nx >= width { continue }
                    let q = ny * width + nx
                    if bits[q] == value && labels[q] == 0 { labels[q] = label; stack.append(q) }
                }
            }
        }
        sizes.append(count)
    }
    return (labels, sizes)
}
