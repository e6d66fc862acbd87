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
        return lut.withUnsafeBufferPointer { lut in
            pixels.withUnsafeBufferPointer { pixels in
                adaptiveAveragePool(pixels, width: width, height: height, outWidth: outWidth, outHeight: outHeight) { lut[Int($0)] }
            }
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
    return plane.withUnsafeBufferPointer { plane in
        adaptiveAveragePool(plane, width: width, height: height, outWidth: outWidth, outHeight: outHeight) { $0 }
    }
}

/// Pooling windows along one axis: [start, end) per output index.
func adaptiveWindows(input: Int, output: Int) -> [(start: Int, end: Int)] {
    (0..<output).map { o in
        (start: (o * input) / output, end: ((o + 1) * input + output - 1) / output)
    }
}

/// The pooling loop over raw samples, `toFloat` giving each one's value. Pointers and the
/// windows' bounds hoisted out of the inner loops (no closure call or bounds check per
/// sample: this ran 1.2 ms per image in the gateway); the order of the additions is the one
/// above, so the result is the same to the bit.
@inline(__always)
private func adaptiveAveragePool<Sample>(_ samples: UnsafeBufferPointer<Sample>, width: Int, height: Int,
                                         outWidth: Int, outHeight: Int, toFloat: (Sample) -> Float) -> [Float] {
    let rows = adaptiveWindows(input: height, output: outHeight)
    let cols = adaptiveWindows(input: width, output: outWidth)
    let base = samples.baseAddress!
    return [Float](unsafeUninitializedCapacity: outWidth * outHeight) { out, initialized in
        for oy in 0..<outHeight {
            let (y0, y1) = rows[oy]
            let rowHeight = Float(y1 - y0)
            cols.withUnsafeBufferPointer { cols in
                for ox in 0..<outWidth {
                    let (x0, x1) = cols[ox]
                    var sum: Float = 0
                    var row = base + y0 * width
                    for _ in y0..<y1 {
                        for x in x0..<x1 { sum += toFloat(row[x]) }
                        row += width
                    }
                    out[oy * outWidth + ox] = sum / rowHeight / Float(x1 - x0)
                }
            }
        }
        initialized = outWidth * outHeight
    }
}
