import Foundation

/// Resize on the two spatial axes of NCHW (nearest or bilinear), with index/weight tables
/// computed at load for the fixed shapes.
final class ResizeKernel: Kernel {
    enum Mode { case nearest, linear }
    let planes: Int, h: Int, w: Int, ho: Int, wo: Int
    let mode: Mode
    // Per output row/column: source indices and the weight of the second one.
    private var y0: [Int] = [], y1: [Int] = [], fy: [Float] = []
    private var x0: [Int] = [], x1: [Int] = [], fx: [Float] = []

    /// `transform` maps an output coordinate to the input coordinate on one axis:
    /// (outIndex, scale, inLength, outLength) -> inCoordinate.
    init(planes: Int, h: Int, w: Int, ho: Int, wo: Int, scaleH: Float, scaleW: Float, mode: Mode,
         transform: (Int, Float, Int, Int) -> Float, nearest: (Float) -> Int) {
        self.planes = planes; self.h = h; self.w = w; self.ho = ho; self.wo = wo; self.mode = mode
        func table(_ outLen: Int, _ inLen: Int, _ scale: Float) -> ([Int], [Int], [Float]) {
            var a = [Int](), b = [Int](), f = [Float]()
            for o in 0..<outLen {
                let c = transform(o, scale, inLen, outLen)
                switch mode {
                case .nearest:
                    let i = min(max(nearest(c), 0), inLen - 1)
                    a.append(i); b.append(i); f.append(0)
                case .linear:
                    let cc = min(max(c, 0), Float(inLen - 1))
                    let i = min(Int(cc), inLen - 1)
                    a.append(i); b.append(min(i + 1, inLen - 1)); f.append(cc - Float(i))
                }
            }
            return (a, b, f)
        }
        (y0, y1, fy) = table(ho, h, scaleH)
        (x0, x1, fx) = table(wo, w, scaleW)
    }

    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        let x = inputs[0], y = outputs[0]
        parallel.forEach(planes) { _, ps in
            for p in ps {
                let src = x + p * h * w, dst = y + p * ho * wo
                for oy in 0..<ho {
                    let r0 = src + y0[oy] * w, r1 = src + y1[oy] * w, wy = fy[oy]
                    let d = dst + oy * wo
                    switch mode {
                    case .nearest:
                        for ox in 0..<wo { d[ox] = r0[x0[ox]] }
                    case .linear:
                        for ox in 0..<wo {
                            let a = x0[ox], b = x1[ox], wx = fx[ox]
                            let top = r0[a] * (1 - wx) + r0[b] * wx
                            let bottom = r1[a] * (1 - wx) + r1[b] * wx
                            d[ox] = top * (1 - wy) + bottom * wy
                        }
                    }
                }
            }
        }
    }
}

extension ResizeKernel: OneDNNExpressible {
    /// Nearest up-sampling by whole factors where every output pixel reads input o / factor,
    /// which is oneDNN's nearest resampling (asymmetric + floor, or half_pixel-style rounding,
    /// give this table for whole factors; the table, not the attribute names, decides).
    var oneDNNOp: OneDNNOp? {
        guard mode == .nearest, ho % h == 0, wo % w == 0 else { return nil }
        let fh = ho / h, fw = wo / w
        guard y0.indices.allSatisfy({ y0[$0] == $0 / fh }), x0.indices.allSatisfy({ x0[$0] == $0 / fw }) else { return nil }
        return .upsampleNearest(factorH: fh, factorW: fw)
    }
}
