import CBLAS

/// 2-D convolution geometry, resolved at load (pads already final).
struct ConvGeometry {
    var n, c, h, w: Int          // input
    var m, ho, wo: Int           // output channels and size
    var kh, kw: Int
    var sh, sw: Int
    var dh, dw: Int
    var padTop, padLeft, padBottom, padRight: Int
    var group: Int

    var cPerGroup: Int { c / group }
    var mPerGroup: Int { m / group }
    var flops: Double { 2 * Double(n * m * ho * wo) * Double(cPerGroup * kh * kw) }
}

/// Conv with bias and fused activation. Two strategies chosen per layer shape:
/// `direct` (SIMD register-tiled, stride 1, group 1: wins at few channels/high resolution,
/// where im2col traffic dominates) and `gemm` (im2col + cblas_sgemm: everything else).
final class ConvKernel: Kernel {
    let g: ConvGeometry
    let weights: [Float]             // [M, C/g, kh, kw]
    let bias: [Float]                // [M]
    let activation: Activation
    let useDirect: Bool
    /// Channels per input buffer: one entry, or several when a Concat feeding this conv was fused.
    let segments: [Int]
    /// Direct path: weights repacked [ceil(M/4)][C][kh][kw][4] so 4 broadcasts are adjacent.
    private var packed: [Float] = []
    private let hp: Int, wp: Int     // padded input size (direct path)
    /// GEMM path: output pixels per im2col chunk.
    private let chunk: Int

    init(_ g: ConvGeometry, weights: [Float], bias: [Float]?, activation: Activation, segments: [Int]? = nil) {
        self.g = g
        self.segments = segments ?? [g.c]
        self.weights = weights
        self.bias = bias ?? [Float](repeating: 0, count: g.m)
        self.activation = activation
        useDirect = ConvKernel.prefersDirect(g)
        hp = g.h + g.padTop + g.padBottom
        wp = g.w + g.padLeft + g.padRight
        chunk = min(g.ho * g.wo, max(256, 32768 / max(1, g.cPerGroup * g.kh * g.kw) * 8))
        if useDirect { packWeights() }
    }

    var flops: Double { g.flops }

    static func prefersDirect(_ g: ConvGeometry) -> Bool {
        g.group == 1 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1
            && g.kh * g.kw > 1 && g.wo >= 8 && g.m >= 4
    }

    private func packWeights() {
        let blocks = (g.m + 3) / 4, kk = g.kh * g.kw
        packed = [Float](repeating: 0, count: blocks * g.c * kk * 4)
        for m in 0..<g.m {
            for c in 0..<g.c { for k in 0..<kk {
                packed[(((m / 4) * g.c + c) * kk + k) * 4 + m % 4] = weights[(m * g.c + c) * kk + k]
            } }
        }
    }

    func scratchFloats(threads: Int) -> Int {
        if useDirect { return g.c * hp * wp + 64 }
        if isPointwise { return 0 }
        return threads * g.cPerGroup * g.kh * g.kw * chunk + 64
    }

    private var isPointwise: Bool {
        g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.padTop == 0 && g.padLeft == 0
            && g.padBottom == 0 && g.padRight == 0
    }

    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        for b in 0..<g.n {
            let y = outputs[0] + b * g.m * g.ho * g.wo
            if useDirect { runDirect(planes(inputs, b), y, scratch, parallel) }
            else { runGemm(inputs[0] + b * g.c * g.h * g.w, y, scratch, parallel) }
        }
    }

    // MARK: GEMM path

    private func runGemm(_ x: FloatPtr, _ y: FloatPtr, _ scratch: FloatPtr, _ parallel: Parallel) {
        let pixels = g.ho * g.wo, k = g.cPerGroup * g.kh * g.kw
        let chunks = (pixels + chunk - 1) / chunk
        let perThread = k * chunk
        weights.withUnsafeBufferPointer { wbuf in
            bias.withUnsafeBufferPointer { bbuf in
                parallel.forEach(g.group * chunks) { worker, items in
                    let cols = scratch + worker * perThread
                    for item in items {
                        let grp = item / chunks, p0 = (item % chunks) * chunk
                        let np = min(chunk, pixels - p0)
                        let xg = x + grp * g.cPerGroup * g.h * g.w
                        let yg = y + grp * g.mPerGroup * pixels
                        let wg = wbuf.baseAddress! + grp * g.mPerGroup * k
                        if isPointwise {
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(g.mPerGroup), Int32(np), Int32(k),
                                        1, wg, Int32(k), xg + p0, Int32(pixels), 0, yg + p0, Int32(pixels))
                        } else {
                            im2col(xg, cols, p0, np)
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(g.mPerGroup), Int32(np), Int32(k),
                                        1, wg, Int32(k), cols, Int32(np), 0, yg + p0, Int32(pixels))
                        }
                        for m in 0..<g.mPerGroup {
                            let row = yg + m * pixels + p0, bv = bbuf[grp * g.mPerGroup + m]
                            for i in 0..<np { row[i] += bv }
                            activation.apply(row, np)
                        }
                    }
                }
            }
        }
    }

    /// Columns for output pixels p0..<p0+np of one group: [C/g*kh*kw, np].
    private func im2col(_ x: FloatPtr, _ cols: FloatPtr, _ p0: Int, _ np: Int) {
        var row = 0
        for c in 0..<g.cPerGroup {
            let plane = x + c * g.h * g.w
            for ky in 0..<g.kh { for kx in 0..<g.kw {
                let dst = cols + row * np
                var oy = p0 / g.wo, ox = p0 % g.wo
                for i in 0..<np {
                    let iy = oy * g.sh - g.padTop + ky * g.dh, ix = ox * g.sw - g.padLeft + kx * g.dw
                    dst[i] = (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) ? plane[iy * g.w + ix] : 0
                    ox += 1
                    if ox == g.wo { ox = 0; oy += 1 }
                }
                row += 1
            } }
        }
    }

    // MARK: Direct path

    /// Input planes per channel for batch item `b` (segments = inputs of a fused Concat).
    private func planes(_ inputs: [FloatPtr], _ b: Int) -> [UnsafePointer<Float>] {
        var out: [UnsafePointer<Float>] = []
        out.reserveCapacity(g.c)
        for (k, ch) in segments.enumerated() {
            let base = inputs[k] + b * ch * g.h * g.w
            for c in 0..<ch { out.append(UnsafePointer(base + c * g.h * g.w)) }
        }
        return out
    }

    private func runDirect(_ planes: [UnsafePointer<Float>], _ y: FloatPtr, _ xp: FloatPtr, _ parallel: Parallel) {
        // Zero-padded copy of the input so the inner loop has no bounds checks.
        let planeP = hp * wp
        parallel.forEach(g.c) { _, cs in
            for c in cs {
                let dst = xp + c * planeP, src = planes[c]
                dst.update(repeating: 0, count: g.padTop * wp)
                for r in 0..<g.h {
                    let d = dst + (r + g.padTop) * wp
                    d.update(repeating: 0, count: g.padLeft)
                    d.advanced(by: g.padLeft).update(from: src + r * g.w, count: g.w)
                    d.advanced(by: g.padLeft + g.w).update(repeating: 0, count: g.padRight)
                }
                (dst + (g.padTop + g.h) * wp).update(repeating: 0, count: g.padBottom * wp)
            }
        }
        (xp + g.c * planeP).update(repeating: 0, count: 64)
        let blocks = (g.m + 3) / 4
        // Small weights: one item = one output row, x-tiles outer and channel blocks inner, so
        // a tile's input patch (C x 3 rows x 26 floats) stays in L1 across the blocks.
        // Large weights (deep layers): one item = (block, row), blocks outer so one block's
        // weights stay in L1/L2 while the rows stream by.
        let blocksOuter = g.m * g.c * g.kh * g.kw * 4 > 192 * 1024
        packed.withUnsafeBufferPointer { pw in
            bias.withUnsafeBufferPointer { bb in
                if blocksOuter {
                    parallel.forEach(g.ho * blocks) { _, items in
                        for item in items {
                            let blk = item / g.ho
                            directRow(xp, y, pw.baseAddress!, bb.baseAddress!, item % g.ho, blk..<(blk + 1))
                        }
                    }
                } else {
                    parallel.forEach(g.ho) { _, rows in
                        for oy in rows { directRow(xp, y, pw.baseAddress!, bb.baseAddress!, oy, 0..<blocks) }
                    }
                }
            }
        }
    }

    @inline(__always)
    private func directRow(_ xp: FloatPtr, _ y: FloatPtr, _ pw: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
                           _ oy: Int, _ blks: Range<Int>) {
        let kk = g.kh * g.kw
        let is3x3 = g.kh == 3 && g.kw == 3
        var x0 = 0
        while x0 < g.wo {
            let remaining = g.wo - x0
            let inRow = UnsafePointer(xp + oy * wp + x0)
            let n = min(24, remaining)
            for blk in blks {
                let wBlock = pw + blk * g.c * kk * 4
                let m0 = blk * 4
                var acc = Acc()
                if remaining > 16 {
                    if is3x3 { acc.run3x3(inRow, wBlock, g.c, hp * wp, wp, g.dw, wide: true) }
                    else { acc.runGeneric(inRow, wBlock, g.c, hp * wp, wp, g.kh, g.kw, wide: true) }
                } else {
                    if is3x3 { acc.run3x3(inRow, wBlock, g.c, hp * wp, wp, g.dw, wide: false) }
                    else { acc.runGeneric(inRow, wBlock, g.c, hp * wp, wp, g.kh, g.kw, wide: false) }
                }
                put(acc.a00, y, m0, oy, x0, n, bias); put(acc.a01, y, m0, oy, x0 + 8, n - 8, bias); put(acc.a02, y, m0, oy, x0 + 16, n - 16, bias)
                put(acc.a10, y, m0 + 1, oy, x0, n, bias); put(acc.a11, y, m0 + 1, oy, x0 + 8, n - 8, bias); put(acc.a12, y, m0 + 1, oy, x0 + 16, n - 16, bias)
                put(acc.a20, y, m0 + 2, oy, x0, n, bias); put(acc.a21, y, m0 + 2, oy, x0 + 8, n - 8, bias); put(acc.a22, y, m0 + 2, oy, x0 + 16, n - 16, bias)
                put(acc.a30, y, m0 + 3, oy, x0, n, bias); put(acc.a31, y, m0 + 3, oy, x0 + 8, n - 8, bias); put(acc.a32, y, m0 + 3, oy, x0 + 16, n - 16, bias)
            }
            x0 += n
        }
    }

    /// Bias + activation + store of one accumulator (output channel m, 8 pixels at x).
    @inline(__always)
    private func put(_ acc: SIMD8<Float>, _ y: FloatPtr, _ m: Int, _ oy: Int, _ x: Int, _ lanes: Int,
                     _ bias: UnsafePointer<Float>) {
        guard m < g.m, lanes > 0 else { return }
        let dst = y + m * g.ho * g.wo + oy * g.wo + x
        var r = acc + SIMD8<Float>(repeating: bias[m])
        switch activation {
        case .none: break
        case .relu: r = r.replacing(with: 0, where: r .< 0)
        default: r = activation.apply(r)
        }
        if lanes >= 8 { st8(r, dst) } else { for l in 0..<lanes { dst[l] = r[l] } }
    }
}

@inline(__always) private func ld8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}
@inline(__always) private func st8(_ v: SIMD8<Float>, _ p: FloatPtr) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// 4 output channels x 24 pixels of accumulators: 12 ymm registers (AVX2 has 16).
private struct Acc {
    var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>()
    var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>()
    var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a22 = SIMD8<Float>()
    var a30 = SIMD8<Float>(), a31 = SIMD8<Float>(), a32 = SIMD8<Float>()

    /// One kernel tap: 3 input vectors times 4 broadcast weights.
    @inline(__always) mutating func tap3(_ r: UnsafePointer<Float>, _ w: UnsafePointer<Float>) {
        let i0 = ld8(r), i1 = ld8(r + 8), i2 = ld8(r + 16)
        var b = SIMD8<Float>(repeating: w[0])
        a00 = a00.addingProduct(i0, b); a01 = a01.addingProduct(i1, b); a02 = a02.addingProduct(i2, b)
        b = SIMD8<Float>(repeating: w[1])
        a10 = a10.addingProduct(i0, b); a11 = a11.addingProduct(i1, b); a12 = a12.addingProduct(i2, b)
        b = SIMD8<Float>(repeating: w[2])
        a20 = a20.addingProduct(i0, b); a21 = a21.addingProduct(i1, b); a22 = a22.addingProduct(i2, b)
        b = SIMD8<Float>(repeating: w[3])
        a30 = a30.addingProduct(i0, b); a31 = a31.addingProduct(i1, b); a32 = a32.addingProduct(i2, b)
    }

    /// Same with 2 input vectors (row tails of <= 16 pixels).
    @inline(__always) mutating func tap2(_ r: UnsafePointer<Float>, _ w: UnsafePointer<Float>) {
        let i0 = ld8(r), i1 = ld8(r + 8)
        var b = SIMD8<Float>(repeating: w[0])
        a00 = a00.addingProduct(i0, b); a01 = a01.addingProduct(i1, b)
        b = SIMD8<Float>(repeating: w[1])
        a10 = a10.addingProduct(i0, b); a11 = a11.addingProduct(i1, b)
        b = SIMD8<Float>(repeating: w[2])
        a20 = a20.addingProduct(i0, b); a21 = a21.addingProduct(i1, b)
        b = SIMD8<Float>(repeating: w[3])
        a30 = a30.addingProduct(i0, b); a31 = a31.addingProduct(i1, b)
    }

    /// `dx` is the tap step (always 1 here) passed at run time on purpose: with a constant step
    /// LLVM sees the overlapping loads of neighbouring taps and rebuilds them with shuffles,
    /// which costs more registers than AVX2 has and spills the accumulators.
    @inline(__always) mutating func run3x3(_ row: UnsafePointer<Float>, _ w0: UnsafePointer<Float>, _ channels: Int,
                                           _ plane: Int, _ wp: Int, _ dx: Int, wide: Bool) {
        var w = w0
        var p = row
        if wide {
            for _ in 0..<channels {
                var r = p
                for _ in 0..<3 {
                    tap3(r, w); tap3(r + dx, w + 4); tap3(r + 2 * dx, w + 8)
                    w += 12; r += wp
                }
                p += plane
            }
        } else {
            for _ in 0..<channels {
                var r = p
                for _ in 0..<3 {
                    tap2(r, w); tap2(r + dx, w + 4); tap2(r + 2 * dx, w + 8)
                    w += 12; r += wp
                }
                p += plane
            }
        }
    }

    @inline(__always) mutating func runGeneric(_ row: UnsafePointer<Float>, _ w0: UnsafePointer<Float>, _ channels: Int,
                                               _ plane: Int, _ wp: Int, _ kh: Int, _ kw: Int, wide: Bool) {
        var w = w0
        for c in 0..<channels {
            for ky in 0..<kh {
                let r = row + c * plane + ky * wp
                for kx in 0..<kw {
                    if wide { tap3(r + kx, w) } else { tap2(r + kx, w) }
                    w += 4
                }
            }
        }
    }
}
