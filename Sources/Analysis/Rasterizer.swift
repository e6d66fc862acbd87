/// Even-odd scanline rasterization of closed paths (curves flattened), sampled at pixel
/// centres. Used to check a tracing against the mask it came from.
public enum PathRasterizer {
    /// A `width` x `height` mask with every pixel whose centre is inside `paths` (even-odd).
    public static func rasterize(_ paths: [ClosedPath], width: Int, height: Int,
                                 maxDeviation: Double = 0.01) throws -> Mask {
        var bits = [UInt8](repeating: 0, count: max(0, width * height))
        guard width > 0, height > 0 else { throw AnalysisError.invalidSize(width: width, height: height, what: "rasterize") }
        // Edges bucketed by the first row whose centre they cross.
        var edges: [[(x0: Double, y0: Double, x1: Double, y1: Double)]] = Array(repeating: [], count: height)
        for path in paths {
            let pts = path.polyline(maxDeviation: maxDeviation)
            for i in 0..<(pts.count - 1) {
                var a = pts[i], b = pts[i + 1]
                if a.y == b.y { continue }
                if a.y > b.y { swap(&a, &b) }
                // Rows r with centre r + 0.5 in [a.y, b.y).
                let first = Int((a.y - 0.5).rounded(.up))
                if first >= height { continue }
                edges[max(0, first)].append((a.x, a.y, b.x, b.y))
            }
        }
        var active: [(x0: Double, y0: Double, x1: Double, y1: Double)] = []
        var xs: [Double] = []
        for row in 0..<height {
            let cy = Double(row) + 0.5
            active.removeAll { $0.y1 <= cy }
            active.append(contentsOf: edges[row].filter { $0.y1 > cy })
            xs.removeAll(keepingCapacity: true)
            for e in active where e.y0 <= cy {
                xs.append(e.x0 + (cy - e.y0) * (e.x1 - e.x0) / (e.y1 - e.y0))
            }
            xs.sort()
            var k = 0
            while k + 1 < xs.count {
                // Pixels whose centre x + 0.5 lies in [xs[k], xs[k+1]).
                let from = max(0, Int((xs[k] - 0.5).rounded(.up)))
                let to = min(width, Int((xs[k + 1] - 0.5).rounded(.up)))
                if from < to { for x in from..<to { bits[row * width + x] = 1 } }
                k += 2
            }
        }
        return Mask(validated: width, height: height, bits: bits)
    }
}
