/// Depthwise 2-D convolution: one kh x kw filter per channel (group = input channels = output
/// channels), the middle step of EfficientNet's inverted-residual blocks, with bias and a fused
/// activation (BatchNormalization is already folded into the weights by the compiler).
///
/// It does only kh*kw multiply-adds per output, so memory, not arithmetic, bounds it; the GEMM
/// path (im2col of one channel, then a 1-row sgemm) spends its time moving the columns. Here each
/// channel's plane is written once into scratch, padded and split into `sw` column phases (column
/// c of the padded row goes to phase c % sw, slot c / sw), so that for every tap the input columns
/// of consecutive outputs are adjacent, for stride 2 as for stride 1. Outputs are then computed
/// eight at a time in registers across all taps and stored once.
final class DepthwiseConvKernel: Kernel {
    let g: ConvGeometry
    let weights: [Float]             // [C, 1, kh, kw]
    let bias: [Float]                // [C]
    let activation: Activation
    /// Floats per column phase of one padded row: enough for the last 8-wide block's reads.
    private let phaseWidth: Int
    /// Floats per padded row (all phases) and per padded plane.
    private let rowFloats: Int, planeFloats: Int
    /// Each tap's offset from the top-left of its window in the padded plane: its row, its
    /// column's phase, then its slot.
    private let tapOffset: [Int]

    /// Depthwise with a channel multiplier of 1 and no dilation: what this kernel computes.
    static func handles(_ g: ConvGeometry) -> Bool {
        g.group > 1 && g.group == g.c && g.m == g.c && g.dh == 1 && g.dw == 1
    }

    init(_ g: ConvGeometry, weights: [Float], bias: [Float]?, activation: Activation) {
        precondition(DepthwiseConvKernel.handles(g))
        self.g = g
        self.weights = weights
        self.bias = bias ?? [Float](repeating: 0, count: g.m)
        self.activation = activation
        let wp = g.w + g.padLeft + g.padRight, hp = g.h + g.padTop + g.padBottom
        let blocks = (g.wo + 7) / 8 * 8
        let phase = max((wp + g.sw - 1) / g.sw, blocks + (g.kw - 1) / g.sw), row = g.sw * phase
        phaseWidth = phase
        rowFloats = row
        planeFloats = hp * row
        tapOffset = (0..<(g.kh * g.kw)).map { t in (t / g.kw) * row + (t % g.kw % g.sw) * phase + (t % g.kw) / g.sw }
    }

    var flops: Double { g.flops }

    func scratchFloats(threads: Int) -> Int { threads * planeFloats }

    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        let x = inputs[0], y = outputs[0]
        weights.withUnsafeBufferPointer { wbuf in
            bias.withUnsafeBufferPointer { bbuf in
                parallel.forEach(g.n * g.c) { worker, items in
                    let plane = scratch + worker * planeFloats
                    for item in items {
                        let ch = item % g.c
                        fillPlane(x + item * g.h * g.w, plane)
                        convolve(plane, wbuf.baseAddress! + ch * g.kh * g.kw, bbuf[ch], y + item * g.ho * g.wo)
                    }
                }
            }
        }
    }

    /// The channel's plane, zero-padded, each row split into its column phases.
    private func fillPlane(_ src: UnsafePointer<Float>, _ plane: FloatPtr) {
        plane.update(repeating: 0, count: planeFloats)
        for r in 0..<g.h {
            let row = plane + (r + g.padTop) * rowFloats
            let s = src + r * g.w
            if g.sw == 1 {
                (row + g.padLeft).update(from: s, count: g.w)
                continue
            }
            // Phase by phase: input columns c0, c0 + sw, ... land in consecutive slots.
            for phase in 0..<g.sw {
                let c0 = ((phase - g.padLeft) % g.sw + g.sw) % g.sw
                let dst = row + phase * phaseWidth + (c0 + g.padLeft) / g.sw
                var c = c0, k = 0
                while c < g.w { dst[k] = s[c]; c += g.sw; k += 1 }
            }
        }
    }

    private func convolve(_ plane: FloatPtr, _ w: UnsafePointer<Float>, _ b: Float, _ out: FloatPtr) {
        let taps = g.kh * g.kw
        tapOffset.withUnsafeBufferPointer { offsets in
            for oy in 0..<g.ho {
                let top = plane + oy * g.sh * rowFloats
                let dst = out + oy * g.wo
                var x0 = 0
                while x0 < g.wo {
                    var acc = SIMD8<Float>(repeating: b)
                    for t in 0..<taps {
                        acc += SIMD8(repeating: w[t]) * load8(top + offsets[t] + x0)
                    }
                    acc = activation.apply(acc)
                    if x0 + 8 <= g.wo {
                        store8(acc, dst + x0)
                    } else {
                        for i in 0..<(g.wo - x0) { dst[x0 + i] = acc[i] }
                    }
                    x0 += 8
                }
            }
        }
    }
}
