import CBLAS

/// ConvTranspose as GEMM (W^T x X -> columns) followed by col2im scatter-add.
final class ConvTransposeKernel: Kernel {
    let g: ConvGeometry              // c/h/w = input, m/ho/wo = output; pads are the ONNX pads
    let weights: [Float]             // [C, M/g, kh, kw]
    let bias: [Float]
    let activation: Activation

    init(_ g: ConvGeometry, weights: [Float], bias: [Float]?, activation: Activation) {
        self.g = g; self.weights = weights
        self.bias = bias ?? [Float](repeating: 0, count: g.m)
        self.activation = activation
    }

    var flops: Double { 2 * Double(g.n * g.c * g.h * g.w) * Double(g.mPerGroup * g.kh * g.kw) }

    /// kernel == stride, no padding/dilation (the UNet up-sampling): every output pixel comes
    /// from exactly one column entry, so col2im is a plain interleaving copy.
    private var isPatchScatter: Bool {
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

    func scratchFloats(threads: Int) -> Int { g.mPerGroup * g.kh * g.kw * g.h * g.w + 64 }

    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        let hw = g.h * g.w, rows = g.mPerGroup * g.kh * g.kw, outPlane = g.ho * g.wo
        for b in 0..<g.n {
            let x = inputs[0] + b * g.c * hw, y = outputs[0] + b * g.m * outPlane
            for grp in 0..<g.group {
                let xg = x + grp * g.cPerGroup * hw
                weights.withUnsafeBufferPointer { wb in
                    let wg = wb.baseAddress! + grp * g.cPerGroup * rows
                    // cols[rows, hw] = Wg^T [rows, C/g] * Xg [C/g, hw], split over pixel columns.
                    parallel.forEach(hw) { _, r in
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(rows), Int32(r.count), Int32(g.cPerGroup),
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
