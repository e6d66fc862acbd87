import CBLAS

/// ConvTranspose as GEMM (W^T x X -> columns) followed by col2im scatter-add; the UNet's
/// 2x2 stride-2 up-sampling runs directly (`runDirect2x2`).
final class ConvTransposeKernel: Kernel {
    let g: ConvGeometry              // c/h/w = input, m/ho/wo = output; pads are the ONNX pads
    let weights: [Float]             // [C, M/g, kh, kw]
    let bias: [Float]
    let activation: Activation
    /// For `runDirect2x2`: the weights as [M][C][ky*2+kx], so one output channel's four taps
    /// for one input channel are adjacent; nil when the direct path does not apply.
    let direct2x2: [Float]?

    init(_ g: ConvGeometry, weights: [Float], bias: [Float]?, activation: Activation) {
        self.g = g; self.weights = weights
        self.bias = bias ?? [Float](repeating: 0, count: g.m)
        self.activation = activation
        if Self.runsDirect2x2(g) {
            var packed = [Float](repeating: 0, count: g.m * g.c * 4)
            for c in 0..<g.c { for m in 0..<g.m { for t in 0..<4 { packed[(m * g.c + c) * 4 + t] = weights[(c * g.m + m) * 4 + t] } } }
            direct2x2 = packed
        } else {
            direct2x2 = nil
        }
    }

    /// Every input pixel feeds exactly one 2x2 output block, so output rows 2y and 2y+1 come
    /// straight from input row y: per output channel, 16 input pixels at a time, the four taps
    /// accumulate in eight vectors over the input channels and are interleaved on store. No
    /// column buffer: the GEMM path wrote and re-read one the size of the output.
    /// Input row y of every channel is first copied side by side into the worker's scratch: in
    /// the planes those rows lie a power of two apart and would all compete for one L1 set.
    /// Both output rows at once, not `produceRow` twice: on 16-pixel rows (`up.0`) one row has
    /// too few independent accumulators to keep the FMA units busy (0.86 -> 2.89 ms when tried).
    private func runDirect2x2(_ x: FloatPtr, _ y: FloatPtr, _ packed: UnsafePointer<Float>, scratch: FloatPtr,
                              _ parallel: Parallel) {
        let hw = g.h * g.w, outPlane = g.ho * g.wo, c = g.c, w = g.w
        parallel.forEach(g.n * g.h) { worker, items in
            let src = scratch + worker * Self.rowsFloats(g)
            for item in items {
                let b = item / g.h, iy = item % g.h
                packRow(x + b * c * hw, iy, into: src)
                for m in 0..<g.m {
                    let wm = packed + m * c * 4
                    let row0 = y + (b * g.m + m) * outPlane + 2 * iy * g.wo, row1 = row0 + g.wo
                    let bias = SIMD8<Float>(repeating: self.bias[m])
                    var ix = 0
                    while ix + 16 <= w {
                        var a00 = bias, a01 = bias, a10 = bias, a11 = bias     // a[ky][kx], pixels ix..<ix+8
                        var b00 = bias, b01 = bias, b10 = bias, b11 = bias     // pixels ix+8..<ix+16
                        for ci in 0..<c {
                            let p = src + ci * w + ix, t = wm + ci * 4
                            let lo = load8(p), hi = load8(p + 8)
                            let t0 = SIMD8(repeating: t[0]), t1 = SIMD8(repeating: t[1])
                            let t2 = SIMD8(repeating: t[2]), t3 = SIMD8(repeating: t[3])
                            a00 = a00.addingProduct(lo, t0); a01 = a01.addingProduct(lo, t1)
                            a10 = a10.addingProduct(lo, t2); a11 = a11.addingProduct(lo, t3)
                            b00 = b00.addingProduct(hi, t0); b01 = b01.addingProduct(hi, t1)
                            b10 = b10.addingProduct(hi, t2); b11 = b11.addingProduct(hi, t3)
                        }
                        storeInterleaved(a00, a01, row0 + 2 * ix); storeInterleaved(b00, b01, row0 + 2 * ix + 16)
                        storeInterleaved(a10, a11, row1 + 2 * ix); storeInterleaved(b10, b11, row1 + 2 * ix + 16)
                        ix += 16
                    }
                    while ix < w {
                        var s = SIMD4<Float>(repeating: self.bias[m])
                        for ci in 0..<c {
                            let t = wm + ci * 4
                            s = s.addingProduct(SIMD4(repeating: src[ci * w + ix]), SIMD4(t[0], t[1], t[2], t[3]))
                        }
                        row0[2 * ix] = s[0]; row0[2 * ix + 1] = s[1]; row1[2 * ix] = s[2]; row1[2 * ix + 1] = s[3]
                        ix += 1
                    }
                    // Both rows (adjacent in the plane), while they are still in L1.
                    activation.apply(row0, 2 * g.wo)
                }
            }
        }
    }

    var flops: Double { 2 * Double(g.n * g.c * g.h * g.w) * Double(g.mPerGroup * g.kh * g.kw) }

    /// kernel == stride, no padding/dilation (the UNet up-sampling): every output pixel comes
    /// from exactly one column entry, so col2im is a plain interleaving copy.
    private var isPatchScatter: Bool { Self.isPatchScatter(g) }

    /// The UNet's 2x2 stride-2 up-sampling: the direct path, which can also compute its output
    /// rows inside a consumer's row window (UpsamplingIntoConvFusion).
    static func runsDirect2x2(_ g: ConvGeometry) -> Bool {
        isPatchScatter(g) && g.kh == 2 && g.kw == 2 && g.group == 1
    }

    private static func isPatchScatter(_ g: ConvGeometry) -> Bool {
        g.kh == g.sh && g.kw == g.sw && g.dh == 1 && g.dw == 1 && g.padTop == 0 && g.padLeft == 0
            && g.padBottom == 0 && g.padRight == 0 && g.ho == g.h * g.kh && g.wo == g.w * g.kw
    }

    private func scatterPatches(_ cols: FloatPtr, _ y: FloatPtr, _ grp: Int, _ parallel: Parallel) {
        let hw = g.h * g.w, outPlane = g.ho * g.wo
        parallel.forEach(g.mPerGroup * g.h) { _, items in
            for item in items {
                let m = item / g.h, iy = item % g.h
                let om = grp * g.mPerGroup + m, b = bias[om]
                for ky in 0..<g.kh {
                    let dst = y + m * outPlane + (iy * g.kh + ky) * g.wo
                    for kx in 0..<g.kw {
                        let src = cols + ((m * g.kh + ky) * g.kw + kx) * hw + iy * g.w
                        var ox = kx
                        for ix in 0..<g.w { dst[ox] = src[ix] + b; ox += g.kw }
                    }
                    activation.apply(dst, g.wo)
                }
            }
        }
    }

    /// Input row `iy` of every channel of `x` (one batch item), side by side into `buffer`.
    private func packRow(_ x: UnsafePointer<Float>, _ iy: Int, into buffer: FloatPtr) {
        for ci in 0..<g.c { (buffer + ci * g.w).update(from: x + (ci * g.h + iy) * g.w, count: g.w) }
    }

    /// One input row of every channel, for one worker of `runDirect2x2` (rounded to 64 bytes).
    private static func rowsFloats(_ g: ConvGeometry) -> Int { (g.c * g.w + 15) / 16 * 16 }

    /// Floats a fused consumer reserves per worker for `produceRow`.
    var rowBufferFloats: Int { Self.rowsFloats(g) + 16 }

    /// As a row source fused into the conv that reads this output through a Concat (direct
    /// 2x2 only): output row `oy` of every channel into `out` (channel stride `cs`), from input
    /// row oy / 2 of `x` (this batch item's input). `buffer` holds that input row packed as in
    /// `runDirect2x2`; `packedRow` says which row it holds (rows come in increasing order, two
    /// output rows per input row).
    func produceRow(_ x: UnsafePointer<Float>, _ oy: Int, _ out: FloatPtr, _ cs: Int, _ buffer: FloatPtr,
                    _ packedRow: inout Int) {
        guard let packed = direct2x2 else { preconditionFailure("produceRow needs the direct 2x2 path") }
        let c = g.c, w = g.w, iy = oy / 2, ky = oy % 2
        if packedRow != iy {
            packRow(x, iy, into: buffer)
            packedRow = iy
        }
        let src = UnsafePointer(buffer)
        packed.withUnsafeBufferPointer { pb in
            for m in 0..<g.m {
                let t = pb.baseAddress! + m * c * 4 + 2 * ky      // this row's two taps, stride 4 over channels
                let row = out + m * cs
                let bias = SIMD8<Float>(repeating: self.bias[m])
                var ix = 0
                while ix + 32 <= w {
                    var a0 = bias, a1 = bias, a2 = bias, a3 = bias           // kx = 0, pixels ix + 8 v
                    var b0 = bias, b1 = bias, b2 = bias, b3 = bias           // kx = 1
                    for ci in 0..<c {
                        let p = src + ci * w + ix
                        let t0 = SIMD8(repeating: t[ci * 4]), t1 = SIMD8(repeating: t[ci * 4 + 1])
                        let x0 = load8(p), x1 = load8(p + 8), x2 = load8(p + 16), x3 = load8(p + 24)
                        a0 = a0.addingProduct(x0, t0); b0 = b0.addingProduct(x0, t1)
                        a1 = a1.addingProduct(x1, t0); b1 = b1.addingProduct(x1, t1)
                        a2 = a2.addingProduct(x2, t0); b2 = b2.addingProduct(x2, t1)
                        a3 = a3.addingProduct(x3, t0); b3 = b3.addingProduct(x3, t1)
                    }
                    storeInterleaved(a0, b0, row + 2 * ix); storeInterleaved(a1, b1, row + 2 * ix + 16)
                    storeInterleaved(a2, b2, row + 2 * ix + 32); storeInterleaved(a3, b3, row + 2 * ix + 48)
                    ix += 32
                }
                while ix + 8 <= w {
                    var a = bias, b = bias
                    for ci in 0..<c {
                        let v = load8(src + ci * w + ix)
                        a = a.addingProduct(v, SIMD8(repeating: t[ci * 4])); b = b.addingProduct(v, SIMD8(repeating: t[ci * 4 + 1]))
                    }
                    storeInterleaved(a, b, row + 2 * ix)
                    ix += 8
                }
                while ix < w {
                    var a = self.bias[m], b = self.bias[m]
                    for ci in 0..<c { let v = src[ci * w + ix]; a += v * t[ci * 4]; b += v * t[ci * 4 + 1] }
                    row[2 * ix] = a; row[2 * ix + 1] = b
                    ix += 1
                }
                activation.apply(row, g.wo)
            }
        }
    }

    func scratchFloats(threads: Int) -> Int {
        direct2x2 != nil ? threads * Self.rowsFloats(g) + 64 : g.mPerGroup * g.kh * g.kw * g.h * g.w + 64
    }

    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        if let packed = direct2x2 {
            packed.withUnsafeBufferPointer { runDirect2x2(inputs[0], outputs[0], $0.baseAddress!, scratch: scratch, parallel) }
            return
        }
        let hw = g.h * g.w, rows = g.mPerGroup * g.kh * g.kw, outPlane = g.ho * g.wo
        for b in 0..<g.n {
            let x = inputs[0] + b * g.c * hw, y = outputs[0] + b * g.m * outPlane
            for grp in 0..<g.group {
                let xg = x + grp * g.cPerGroup * hw
                weights.withUnsafeBufferPointer { wb in
                    let wg = wb.baseAddress! + grp * g.cPerGroup * rows
                    // cols[rows, hw] = Wg^T [rows, C/g] * Xg [C/g, hw], split over pixel columns.
                    parallel.forEach(hw) { _, r in
                        wecare_sgemm(1, 0, Int32(rows), Int32(r.count), Int32(g.cPerGroup),
                                    1, wg, Int32(rows), xg + r.lowerBound, Int32(hw), 0, scratch + r.lowerBound, Int32(hw))
                    }
                }
                if isPatchScatter {
                    scatterPatches(scratch, y + grp * g.mPerGroup * outPlane, grp, parallel)
                    continue
                }
                parallel.forEach(g.mPerGroup) { _, ms in
                    for m in ms {
                        let om = grp * g.mPerGroup + m
                        let dst = y + om * outPlane
                        dst.update(repeating: bias[om], count: outPlane)
                        for ky in 0..<g.kh { for kx in 0..<g.kw {
                            let col = scratch + ((m * g.kh + ky) * g.kw + kx) * hw
                            for iy in 0..<g.h {
                                let oy = iy * g.sh - g.padTop + ky * g.dh
                                if oy < 0 || oy >= g.ho { continue }
                                for ix in 0..<g.w {
                                    let ox = ix * g.sw - g.padLeft + kx * g.dw
                                    if ox >= 0 && ox < g.wo { dst[oy * g.wo + ox] += col[iy * g.w + ix] }
                                }
                            }
                        } }
                        activation.apply(dst, outPlane)
                    }
                }
            }
        }
    }
}

/// Writes (a0, b0, a1, b1, ..., a7, b7) at `p`: two kx taps side by side in the output row.
@inline(__always) private func storeInterleaved(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ p: FloatPtr) {
    var z = SIMD16<Float>()
    for i in 0..<8 { z[2 * i] = a[i]; z[2 * i + 1] = b[i] }
    UnsafeMutableRawPointer(p).storeBytes(of: z, as: SIMD16<Float>.self)
}
