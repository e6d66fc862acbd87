/// Potrace stage 1 (Selinger 2003, section 2.1): decompose the bitmap into closed
/// boundary paths on the pixel-corner lattice.
///
/// Walk convention (ours): the traced colour is kept on the walker's right, with y down,
/// so an outer boundary runs clockwise on screen. After each path is found, the pixels it
/// encloses are inverted; scanning on then finds holes (sign `-`), islands in holes, etc.

/// One closed lattice path: consecutive corner points differ by one unit step.
struct LatticePath {
    var xs: [Int32]
    var ys: [Int32]
    /// True when the path bounds a region of the original foreground (outer boundary);
    /// false for a hole.
    var isOuter: Bool
    /// Enclosed pixel count (always positive).
    var area: Int
    /// Centre of the path's first pixel; lies inside the region the path bounds.
    var seedX: Int, seedY: Int
    var minX: Int32, minY: Int32, maxX: Int32, maxY: Int32

    var count: Int { xs.count }

    /// Even-odd containment of the point (px + 0.5, py + 0.5), by a ray towards +x.
    func containsPixelCentre(_ px: Int, _ py: Int) -> Bool {
        if px < minX || px >= maxX || py < minY || py >= maxY { return false }
        var inside = false
        let n = xs.count
        for i in 0..<n {
            let j = i + 1 == n ? 0 : i + 1
            if xs[i] == xs[j], Int(min(ys[i], ys[j])) == py, Int(xs[i]) > px { inside.toggle() }
        }
        return inside
    }
}

extension PotraceTracer {
    /// All boundary paths of `mask` inside `region` (coordinates relative to the region).
    func decompose(_ mask: Mask, region: PixelRect) -> [LatticePath] {
        let w = region.width, h = region.height
        // One-pixel white frame: no bounds checks while walking. Rows are padded to whole
        // 8-byte words so that runs of background are skipped a word at a time.
        let stride = ((w + 2 + 7) / 8) * 8
        var work = [UInt8](repeating: 0, count: stride * (h + 2))
        var paths: [LatticePath] = []
        var xs: [Int32] = [], ys: [Int32] = []
        mask.bits.withUnsafeBufferPointer { original in
            work.withUnsafeMutableBufferPointer { bm in
                for y in 0..<h {
                    let src = original.baseAddress! + (region.y + y) * mask.width + region.x
                    (bm.baseAddress! + (y + 1) * stride + 1).update(from: src, count: w)
                }
                let raw = UnsafeRawPointer(bm.baseAddress!)
                for y in 0..<h {
                    let rowStart = (y + 1) * stride
                    var cursor = rowStart + 1
                    let rowEnd = rowStart + 1 + w
                    while cursor < rowEnd {
                        // Skip background eight bytes at a time once word-aligned.
                        if cursor & 7 == 0, cursor + 8 <= rowEnd, raw.loadUnaligned(fromByteOffset: cursor, as: UInt64.self) == 0 {
                            cursor += 8; continue
                        }
                        if bm[cursor] == 0 { cursor += 1; continue }
                        let x = cursor - rowStart - 1
                        let isOuter = original[(region.y + y) * mask.width + region.x + x] != 0
                        let area = walk(bm, stride: stride, startX: x, startY: y, isOuter: isOuter, xs: &xs, ys: &ys)
                        var minX = xs[0], maxX = xs[0], minY = ys[0], maxY = ys[0]
                        for i in 1..<xs.count {
                            minX = min(minX, xs[i]); maxX = max(maxX, xs[i]); minY = min(minY, ys[i]); maxY = max(maxY, ys[i])
                        }
                        let p = LatticePath(xs: xs, ys: ys, isOuter: isOuter, area: abs(area), seedX: x, seedY: y,
                                            minX: minX, minY: minY, maxX: maxX, maxY: maxY)
                        invertInterior(bm, stride: stride, path: p)
                        if p.area > turdSize { paths.append(p) }
                    }
                }
            }
        }
        return paths
    }

    /// Follows one boundary from the top-left corner of pixel (startX, startY), the first
    /// set pixel in scan order. Fills `xs`/`ys` with the corner points; returns the
    /// signed enclosed area.
    private func walk(_ bm: UnsafeMutableBufferPointer<UInt8>, stride: Int, startX: Int, startY: Int,
                      isOuter: Bool, xs: inout [Int32], ys: inout [Int32]) -> Int {
        xs.removeAll(keepingCapacity: true); ys.removeAll(keepingCapacity: true)
        @inline(__always) func pixel(_ x: Int, _ y: Int) -> Bool { bm[(y + 1) * stride + x + 1] != 0 }
        var x = startX, y = startY, dx = 1, dy = 0
        var area = 0
        repeat {
            xs.append(Int32(x)); ys.append(Int32(y))
            x += dx; y += dy
            area += x * dy  // shoelace over vertical steps
            if x == startX && y == startY { break }
            // Pixels ahead of the walker, right and left of its direction (y down).
            let rx = x + (dx - dy - 1) / 2, ry = y + (dy + dx - 1) / 2
            let lx = x + (dx + dy - 1) / 2, ly = y + (dy - dx - 1) / 2
            let right = pixel(rx, ry), left = pixel(lx, ly)
            let turnLeft: Bool
            if right && !left {
                continue  // straight on
            } else if right && left {
                turnLeft = true
            } else if !right && !left {
                turnLeft = false
            } else {
                // Diagonal: turning left joins the two traced pixels that touch at a corner.
                turnLeft = joinsDiagonal(bm, stride: stride, x: x, y: y, isOuter: isOuter)
            }
            (dx, dy) = turnLeft ? (dy, -dx) : (-dy, dx)
        } while true
        return area
    }

    private func joinsDiagonal(_ bm: UnsafeMutableBufferPointer<UInt8>, stride: Int, x: Int, y: Int, isOuter: Bool) -> Bool {
        switch turnPolicy {
        case .black: return isOuter
        case .white: return !isOuter
        case .left: return true
        case .right: return false
        case .majority: return localBalance(bm, stride: stride, x: x, y: y) > 0
        case .minority: return localBalance(bm, stride: stride, x: x, y: y) < 0
        }
    }

    /// Set minus unset pixels in the smallest square (radius 2...4) round the corner
    /// point (x, y) where they differ; 0 if they never do.
    private func localBalance(_ bm: UnsafeMutableBufferPointer<UInt8>, stride: Int, x: Int, y: Int) -> Int {
        let rows = bm.count / stride
        for r in 2...4 {
            var balance = 0
            for py in (y - r)..<(y + r) {
                for px in (x - r)..<(x + r) {
                    let bx = px + 1, by = py + 1
                    let set = bx >= 0 && bx < stride && by >= 0 && by < rows && bm[by * stride + bx] != 0
                    balance += set ? 1 : -1
                }
            }
            if balance != 0 { return balance }
        }
        return 0
    }

    /// Inverts every pixel enclosed by `path`: each vertical step flips its row from the
    /// step's x to the path's right edge, so pixels crossed an odd number of times flip.
    private func invertInterior(_ bm: UnsafeMutableBufferPointer<UInt8>, stride: Int, path: LatticePath) {
        let n = path.count
        let right = Int(path.maxX)
        for i in 0..<n {
            let j = i + 1 == n ? 0 : i + 1
            guard path.xs[i] == path.xs[j] else { continue }
            let row = Int(min(path.ys[i], path.ys[j])) + 1
            let base = row * stride + 1
            for px in Int(path.xs[i])..<right { bm[base + px] ^= 1 }
        }
    }
}
