/// Bringing a model's output back to source pixels. Always bilinear (never nearest
/// neighbour) so that the thresholded mask is smooth at source resolution.
extension ProbabilityMap {
    /// Bilinear resampling to `width` x `height` with half-pixel centres, matching
    /// PyTorch `F.interpolate(mode="bilinear", align_corners=False)`: source coordinate
    /// `(d + 0.5) * in / out - 0.5`, clamped at 0, neighbours clamped at the last index.
    public func resizedBilinear(width outWidth: Int, height outHeight: Int) throws -> ProbabilityMap {
        guard outWidth > 0, outHeight > 0 else {
            throw AnalysisError.invalidSize(width: outWidth, height: outHeight, what: "resizedBilinear output")
        }
        let xs = bilinearTaps(input: width, output: outWidth)
        let ys = bilinearTaps(input: height, output: outHeight)
        var out = [Float](repeating: 0, count: outWidth * outHeight)
        values.withUnsafeBufferPointer { src in
            for oy in 0..<outHeight {
                let ty = ys[oy]
                let r0 = ty.i0 * width, r1 = ty.i1 * width
                for ox in 0..<outWidth {
                    let tx = xs[ox]
                    let top = (1 - tx.w) * src[r0 + tx.i0] + tx.w * src[r0 + tx.i1]
                    let bottom = (1 - tx.w) * src[r1 + tx.i0] + tx.w * src[r1 + tx.i1]
                    out[oy * outWidth + ox] = (1 - ty.w) * top + ty.w * bottom
                }
            }
        }
        return try ProbabilityMap(width: outWidth, height: outHeight, values: out)
    }

    /// Upsamples this map to the field of view `fov` and places it on a
    /// `canvasWidth` x `canvasHeight` source-sized canvas (zero outside the field of view).
    public func placedBilinear(in fov: PixelRect, canvasWidth: Int, canvasHeight: Int) throws -> ProbabilityMap {
        guard fov.fits(width: canvasWidth, height: canvasHeight) else {
            throw AnalysisError.regionOutside(fov, width: canvasWidth, height: canvasHeight)
        }
        let inner = try resizedBilinear(width: fov.width, height: fov.height)
        var out = [Float](repeating: 0, count: canvasWidth * canvasHeight)
        for row in 0..<fov.height {
            let dst = (fov.y + row) * canvasWidth + fov.x
            out.replaceSubrange(dst..<dst + fov.width, with: inner.values[row * fov.width..<(row + 1) * fov.width])
        }
        return try ProbabilityMap(width: canvasWidth, height: canvasHeight, values: out)
    }
}

extension ProbabilityMap {
    /// `placedBilinear(in:canvasWidth:canvasHeight:)` thresholded at `threshold` (foreground where
    /// the upsampled probability is at or above it), computed row by row with the same arithmetic,
    /// so no source-sized float image is ever built.
    public func thresholdedBilinear(in fov: PixelRect, canvasWidth: Int, canvasHeight: Int, threshold: Float) throws -> Mask {
        guard fov.fits(width: canvasWidth, height: canvasHeight) else {
            throw AnalysisError.regionOutside(fov, width: canvasWidth, height: canvasHeight)
        }
        let xs = bilinearTaps(input: width, output: fov.width)
        let ys = bilinearTaps(input: height, output: fov.height)
        // An output row blends two model rows, each value a convex mix of that row's values, so
        // it stays below the threshold when both rows' maxima do. Most of an image is such
        // background; those rows stay 0 without being computed. The margin covers the float
        // rounding of the mix, so the mask is exactly the one computed everywhere.
        let below = threshold - 1e-4
        let quiet = (0..<height).map { y in
            values.withUnsafeBufferPointer { v in v[(y * width)..<((y + 1) * width)].allSatisfy { $0 < below } }
        }
        // Each model row an output row needs (a row that is not quiet, or a neighbour of one: the
        // two rows an output row blends are adjacent) is interpolated across once, since the
        // horizontal taps do not depend on the output row; output rows then blend two of those.
        let fw = fov.width
        var across = [Float](repeating: 0, count: height * fw)
        values.withUnsafeBufferPointer { src in
            across.withUnsafeMutableBufferPointer { dst in
                xs.withUnsafeBufferPointer { taps in
                    for y in 0..<height where !quiet[y] || (y > 0 && !quiet[y - 1]) || (y + 1 < height && !quiet[y + 1]) {
                        let row = src.baseAddress! + y * width, out = dst.baseAddress! + y * fw
                        for ox in 0..<fw {
                            let t = taps[ox]
                            out[ox] = (1 - t.w) * row[t.i0] + t.w * row[t.i1]
                        }
                    }
                }
            }
        }
        var bits = [UInt8](repeating: 0, count: canvasWidth * canvasHeight)
        across.withUnsafeBufferPointer { rows in
            bits.withUnsafeMutableBufferPointer { out in
                for oy in 0..<fov.height {
                    let ty = ys[oy]
                    if quiet[ty.i0] && quiet[ty.i1] { continue }
                    let top = rows.baseAddress! + ty.i0 * fw, bottom = rows.baseAddress! + ty.i1 * fw
                    let dst = out.baseAddress! + (fov.y + oy) * canvasWidth + fov.x
                    let a = 1 - ty.w, b = ty.w
                    for ox in 0..<fw { dst[ox] = a * top[ox] + b * bottom[ox] >= threshold ? 1 : 0 }
                }
            }
        }
        return Mask(validated: canvasWidth, height: canvasHeight, bits: bits)
    }
}

struct BilinearTap { let i0: Int; let i1: Int; let w: Float }

func bilinearTaps(input: Int, output: Int) -> [BilinearTap] {
    let scale = Float(input) / Float(output)
    return (0..<output).map { d in
        let s = max(0, (Float(d) + 0.5) * scale - 0.5)
        let i0 = min(Int(s), input - 1)
        let i1 = min(i0 + 1, input - 1)
        return BilinearTap(i0: i0, i1: i1, w: s - Float(i0))
    }
}
