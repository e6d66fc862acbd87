/// Model-input preprocessing, bit-compatible with training, which feeds
/// `F.adaptive_avg_pool2d(img.float() / 255, (OH, OW))` (PyTorch CPU kernel).
extension GrayImage {
    /// Adaptive average pooling to `outWidth` x `outHeight`, values scaled to [0, 1].
    ///
    /// Output (oy, ox) is the mean of input rows [floor(oy*H/OH), ceil((oy+1)*H/OH)) and
    /// columns [floor(ox*W/OW), ceil((ox+1)*W/OW)); works for down- and upsizing. The
    /// arithmetic follows PyTorch's to the bit: Float32 inputs `p / 255`, summed row by row
    /// in a Float32 accumulator, then divided by the window height and then by its width.
    public func resizedAdaptiveAverage(width outWidth: Int = 256, height outHeight: Int = 256) throws -> [Float] {
        guard outWidth > 0, outHeight > 0 else {
            throw AnalysisError.invalidSize(width: outWidth, height: outHeight, what: "resizedAdaptiveAverage output")
        }
        var lut = [Float](repeating: 0, count: 256)
        for v in 0..<256 { lut[v] = Float(v) / 255 }
        return adaptiveAveragePool(width: width, height: height, outWidth: outWidth, outHeight: outHeight) { x, y in
            lut[Int(pixels[y * width + x])]
        }
    }
}

/// Adaptive average pooling of a Float plane (for inputs already in [0, 1]).
public func resizeAdaptiveAverage(_ plane: [Float], width: Int, height: Int,
                                  outWidth: Int = 256, outHeight: Int = 256) throws -> [Float] {
    guard width > 0, height > 0, outWidth > 0, outHeight > 0 else {
        throw AnalysisError.invalidSize(width: min(width, outWidth), height: min(height, outHeight), what: "resizeAdaptiveAverage")
    }
    guard plane.count == width * height else {
        throw AnalysisError.sizeMismatch(expected: width * height, got: plane.count, what: "resizeAdaptiveAverage input")
    }
    return adaptiveAveragePool(width: width, height: height, outWidth: outWidth, outHeight: outHeight) { x, y in
        plane[y * width + x]
    }
}

/// Pooling windows along one axis: [start, end) per output index.
func adaptiveWindows(input: Int, output: Int) -> [(start: Int, end: Int)] {
    (0..<output).map { o in
        (start: (o * input) / output, end: ((o + 1) * input + output - 1) / output)
    }
}

@inline(__always)
private func adaptiveAveragePool(width: Int, height: Int, outWidth: Int, outHeight: Int,
                                 value: (Int, Int) -> Float) -> [Float] {
    let rows = adaptiveWindows(input: height, output: outHeight)
    let cols = adaptiveWindows(input: width, output: outWidth)
    var out = [Float](repeating: 0, count: outWidth * outHeight)
    for oy in 0..<outHeight {
        let (y0, y1) = rows[oy]
        for ox in 0..<outWidth {
            let (x0, x1) = cols[ox]
            var sum: Float = 0
            for y in y0..<y1 { for x in x0..<x1 { sum += value(x, y) } }
            out[oy * outWidth + ox] = sum / Float(y1 - y0) / Float(x1 - x0)
        }
    }
    return out
}
