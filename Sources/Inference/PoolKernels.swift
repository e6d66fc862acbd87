/// MaxPool / AveragePool over NCHW planes (pads, strides, dilations, ceil_mode resolved at load).
final class PoolKernel: Kernel {
    enum Kind { case max, average(countIncludePad: Bool) }
    let kind: Kind
    let g: ConvGeometry              // c = N*C planes handled alike; m unused

    init(kind: Kind, _ g: ConvGeometry) { self.kind = kind; self.g = g }

    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        let planes = g.n * g.c, inPlane = g.h * g.w, outPlane = g.ho * g.wo
        let x = inputs[0], y = outputs[0]
        if case .max = kind, g.kh == 2, g.kw == 2, g.sh == 2, g.sw == 2, g.dh == 1, g.dw == 1,
           g.padTop == 0, g.padLeft == 0, 2 * g.ho <= g.h, 2 * g.wo <= g.w {
            // The UNet's 2x2/2 max pool without per-tap bounds checks.
            parallel.forEach(planes * g.ho) { _, rows in
                for row in rows {
                    let p = row / g.ho, oy = row % g.ho
                    let r0 = x + p * inPlane + 2 * oy * g.w, r1 = r0 + g.w, d = y + p * outPlane + oy * g.wo
                    for ox in 0..<g.wo { d[ox] = max(max(r0[2 * ox], r0[2 * ox + 1]), max(r1[2 * ox], r1[2 * ox + 1])) }
                }
            }
            return
        }
        parallel.forEach(planes) { _, ps in
            for p in ps {
                let src = x + p * inPlane, dst = y + p * outPlane
                for oy in 0..<g.ho { for ox in 0..<g.wo {
                    var acc: Float = 0, mx = -Float.infinity, count = 0
                    let y0 = oy * g.sh - g.padTop, x0 = ox * g.sw - g.padLeft
                    for ky in 0..<g.kh {
                        let iy = y0 + ky * g.dh
                        if iy < 0 || iy >= g.h { continue }
                        for kx in 0..<g.kw {
                            let ix = x0 + kx * g.dw
                            if ix < 0 || ix >= g.w { continue }
                            let v = src[iy * g.w + ix]
                            acc += v; mx = max(mx, v); count += 1
                        }
                    }
                    switch kind {
                    case .max: dst[oy * g.wo + ox] = mx
                    case .average(let include):
                        var denom = count
                        if include {
                            // Window clipped to the padded extent, as ONNX/ORT do.
                            let ye = min(y0 + (g.kh - 1) * g.dh + 1, g.h + g.padBottom), xe = min(x0 + (g.kw - 1) * g.dw + 1, g.w + g.padRight)
                            denom = ((ye - y0 + g.dh - 1) / g.dh) * ((xe - x0 + g.dw - 1) / g.dw)
                        }
                        dst[oy * g.wo + ox] = acc / Float(max(denom, 1))
                    }
                } }
            }
        }
    }
}

/// GlobalAveragePool: [N, C, H, W] -> [N, C, 1, 1].
final class GlobalAveragePoolKernel: Kernel {
    let planes: Int, size: Int
    init(planes: Int, size: Int) { self.planes = planes; self.size = size }

    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        let x = inputs[0], y = outputs[0]
        parallel.forEach(planes) { _, ps in
            for p in ps {
                let src = x + p * size
                var acc = SIMD8<Float>(), i = 0, tail: Float = 0
                while i + 8 <= size { acc += load8(src + i); i += 8 }
                while i < size { tail += src[i]; i += 1 }
                y[p] = (acc.sum() + tail) / Float(size)
            }
        }
    }
}
