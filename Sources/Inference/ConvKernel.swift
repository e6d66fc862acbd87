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
    /// Direct path: weights repacked [ceil(M/4)][C][kh][kw][4] so 4 broadcasts are adjacent.
    private var packed: [Float] = []
    private let hp: Int, wp: Int     // padded input size (direct path)
    /// GEMM path: output pixels per im2col chunk.
    private let chunk: Int

    init(_ g: ConvGeometry, weights: [Float], bias: [Float]?, activation: Activation) {
        self.g = g
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
            let x = inputs[0] + b * g.c * g.h * g.w
            let y = outputs[0] + b * g.m * g.ho * g.wo
            if useDirect { runDirect(x, y, scratch, parallel) } else { runGemm(x, y, scratch, parallel) }
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

    private func runDirect(_ x: FloatPtr, _ y: FloatPtr, _ xp: FloatPtr, _ parallel: Parallel) {
        // Zero-padded copy of the input so the inner loop has no bounds checks.
        let planeP = hp * wp
        parallel.forEach(g.c) { _, cs in
            for c in cs {
                let dst = xp + c * planeP, src = x + c * g.h * g.w
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
        packed.withUnsafeBufferPointer { pw in
            bias.withUnsafeBufferPointer { bb in
                // Work item = (output row, channel block); rows outer so a worker's input rows stay in cache.
                parallel.forEach(g.ho * blocks) { _, items in
                    for item in items {
                        let oy = item / blocks, blk = item % blocks
                        directRow(xp, y, pw.baseAddress!, bb.baseAddress!, oy, blk)
                    }
                }
            }
        }
    }

    @inline(__always)
    private func directRow(_ xp: FloatPtr, _ y: FloatPtr, _ pw: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
                           _ oy: Int, _ blk: Int) {
        let kk = g.kh * g.kw, planeP = hp * wp
        let wBlock = pw + blk * g.c * kk * 4
        let m0 = blk * 4
        var x0 = 0
        while x0 < g.wo {
            let remaining = g.wo - x0
            let inRow = xp + oy * wp + x0
            if remaining >= 24 || remaining > 16 {
                var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>()
                var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>()
                var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a22 = SIMD8<Float>()
                var a30 = SIMD8<Float>(), a31 = SIMD8<Float>(), a32 = SIMD8<Float>()
                var wptr = wBlock
                for c in 0..<g.c {
                    let plane = inRow + c * planeP
                    for ky in 0..<g.kh {
                        let r = plane + ky * wp
                        for kx in 0..<g.kw {
                            let i0 = load8(r + kx), i1 = load8(r + kx + 8), i2 = load8(r + kx + 16)
                            let w0 = SIMD8<Float>(repeating: wptr[0]), w1 = SIMD8<Float>(repeating: wptr[1])
                            let w2 = SIMD8<Float>(repeating: wptr[2]), w3 = SIMD8<Float>(repeating: wptr[3])
                            a00 = a00.addingProduct(i0, w0); a01 = a01.addingProduct(i1, w0); a02 = a02.addingProduct(i2, w0)
                            a10 = a10.addingProduct(i0, w1); a11 = a11.addingProduct(i1, w1); a12 = a12.addingProduct(i2, w1)
                            a20 = a20.addingProduct(i0, w2); a21 = a21.addingProduct(i1, w2); a22 = a22.addingProduct(i2, w2)
                            a30 = a30.addingProduct(i0, w3); a31 = a31.addingProduct(i1, w3); a32 = a32.addingProduct(i2, w3)
                            wptr += 4
                        }
                    }
                }
                let n = min(24, remaining)
                put(a00, y, m0, oy, x0, n, bias); put(a01, y, m0, oy, x0 + 8, n - 8, bias); put(a02, y, m0, oy, x0 + 16, n - 16, bias)
                put(a10, y, m0 + 1, oy, x0, n, bias); put(a11, y, m0 + 1, oy, x0 + 8, n - 8, bias); put(a12, y, m0 + 1, oy, x0 + 16, n - 16, bias)
                put(a20, y, m0 + 2, oy, x0, n, bias); put(a21, y, m0 + 2, oy, x0 + 8, n - 8, bias); put(a22, y, m0 + 2, oy, x0 + 16, n - 16, bias)
                put(a30, y, m0 + 3, oy, x0, n, bias); put(a31, y, m0 + 3, oy, x0 + 8, n - 8, bias); put(a32, y, m0 + 3, oy, x0 + 16, n - 16, bias)
                x0 += n
            } else {
                var a00 = SIMD8<Float>(), a01 = SIMD8<Float>()
                var a10 = SIMD8<Float>(), a11 = SIMD8<Float>()
                var a20 = SIMD8<Float>(), a21 = SIMD8<Float>()
                var a30 = SIMD8<Float>(), a31 = SIMD8<Float>()
                var wptr = wBlock
                for c in 0..<g.c {
                    let plane = inRow + c * planeP
                    for ky in 0..<g.kh {
                        let r = plane + ky * wp
                        for kx in 0..<g.kw {
                            let i0 = load8(r + kx), i1 = load8(r + kx + 8)
                            let w0 = SIMD8<Float>(repeating: wptr[0]), w1 = SIMD8<Float>(repeating: wptr[1])
                            let w2 = SIMD8<Float>(repeating: wptr[2]), w3 = SIMD8<Float>(repeating: wptr[3])
                            a00 = a00.addingProduct(i0, w0); a01 = a01.addingProduct(i1, w0)
                            a10 = a10.addingProduct(i0, w1); a11 = a11.addingProduct(i1, w1)
                            a20 = a20.addingProduct(i0, w2); a21 = a21.addingProduct(i1, w2)
                            a30 = a30.addingProduct(i0, w3); a31 = a31.addingProduct(i1, w3)
                            wptr += 4
                        }
                    }
                }
                let n = remaining
                put(a00, y, m0, oy, x0, n, bias); put(a01, y, m0, oy, x0 + 8, n - 8, bias)
                put(a10, y, m0 + 1, oy, x0, n, bias); put(a11, y, m0 + 1, oy, x0 + 8, n - 8, bias)
                put(a20, y, m0 + 2, oy, x0, n, bias); put(a21, y, m0 + 2, oy, x0 + 8, n - 8, bias)
                put(a30, y, m0 + 3, oy, x0, n, bias); put(a31, y, m0 + 3, oy, x0 + 8, n - 8, bias)
                x0 += n
            }
        }
    }

    /// Bias + activation + store of one accumulator (output channel m, 8 pixels at x).
    @inline(__always)
    private func put(_ acc: SIMD8<Float>, _ y: FloatPtr, _ m: Int, _ oy: Int, _ x: Int, _ lanes: Int,
                     _ bias: UnsafePointer<Float>) {
        guard m < g.m, lanes > 0 else { return }
        let dst = y + m * g.ho * g.wo + oy * g.wo + x
        let r = activation.apply(acc + SIMD8<Float>(repeating: bias[m]))
        if lanes >= 8 { store8(r, dst) } else { for l in 0..<lanes { dst[l] = r[l] } }
    }
}
