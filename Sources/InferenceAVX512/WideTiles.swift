/// The direct convolution's register tiles for AVX-512 (32 zmm registers of 16 floats), in a
/// module of their own because only this module is compiled for AVX-512 (Package.swift:
/// `-target-cpu skylake-avx512`): Swift has no per-function target, and the rest of the engine
/// must run on AVX2-only CPUs. Nothing here may run unless `KernelSet.active()` is `.avx512`;
/// the entry points are not inlinable, so no AVX-512 instruction leaks into callers.
///
/// Each tile sums one output row's `pixels` pixels for `channels` output channels over every
/// input channel and tap, the same order of additions as the AVX2 tiles (channel, kernel row,
/// kernel column), so both sets give the same sums.
public enum WideTile: Sendable, CaseIterable {
    /// 16 output channels x 16 pixels: 16 accumulators; per tap one load and 16 broadcasts
    /// folded into the FMAs.
    case c16x16
    /// 8 output channels x 32 pixels: for channel counts 16 does not divide.
    case c8x32

    public var channels: Int {
        switch self { case .c8x32: 8; case .c16x16: 16 }
    }

    public var pixels: Int {
        switch self { case .c8x32: 32; case .c16x16: 16 }
    }

    /// The tile's sums into `out`, [channels][pixels] floats. `row`: the tile's first input
    /// (padded, channel 0, kernel row 0); `w`: the block's packed weights
    /// [input channel][kh][kw][channels]; `dx`: the tap step, passed at run time (see the AVX2
    /// tiles: a constant step turns the overlapping loads into shuffles).
    public func sum(_ row: UnsafePointer<Float>, _ w: UnsafePointer<Float>, inputs: Int, channelStride: Int,
                    rowStride: Int, kh: Int, kw: Int, dx: Int, into out: UnsafeMutablePointer<Float>) {
        switch self {
        case .c8x32: Tile8x32.sum(row, w, inputs, channelStride, rowStride, kh, kw, dx, out)
        case .c16x16: Tile16x16.sum(row, w, inputs, channelStride, rowStride, kh, kw, dx, out)
        }
    }
}

@inline(__always) private func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always) private func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

private protocol Accumulators {
    static var channels: Int { get }
    init()
    mutating func tap(_ r: UnsafePointer<Float>, _ w: UnsafePointer<Float>)
    func store(_ out: UnsafeMutablePointer<Float>)
}

extension Accumulators {
    /// One flat loop over (input channel, kernel row), as the AVX2 tiles: nested loops kept
    /// accumulators on the stack across the outer one.
    @inline(never) static func sum(_ row: UnsafePointer<Float>, _ w0: UnsafePointer<Float>, _ inputs: Int,
                                   _ channelStride: Int, _ rowStride: Int, _ kh: Int, _ kw: Int, _ dx: Int,
                                   _ out: UnsafeMutablePointer<Float>) {
        var acc = Self()
        let p = channels
        var w = w0
        if kh == 3 && kw == 3 {
            let nextChannel = channelStride - 2 * rowStride
            var r = row
            var ky = 0
            for _ in 0..<(inputs * 3) {
                acc.tap(r, w); acc.tap(r + dx, w + p); acc.tap(r + 2 * dx, w + 2 * p)
                w += 3 * p
                r += ky == 2 ? nextChannel : rowStride
                ky = ky == 2 ? 0 : ky + 1
            }
        } else {
            for c in 0..<inputs {
                for ky in 0..<kh {
                    let r = row + c * channelStride + ky * rowStride
                    for kx in 0..<kw { acc.tap(r + kx * dx, w); w += p }
                }
            }
        }
        acc.store(out)
    }
}

private struct Tile8x32: Accumulators {
    static var channels: Int { 8 }
    var a0 = SIMD16<Float>(), b0 = SIMD16<Float>(), a1 = SIMD16<Float>(), b1 = SIMD16<Float>()
    var a2 = SIMD16<Float>(), b2 = SIMD16<Float>(), a3 = SIMD16<Float>(), b3 = SIMD16<Float>()
    var a4 = SIMD16<Float>(), b4 = SIMD16<Float>(), a5 = SIMD16<Float>(), b5 = SIMD16<Float>()
    var a6 = SIMD16<Float>(), b6 = SIMD16<Float>(), a7 = SIMD16<Float>(), b7 = SIMD16<Float>()

    @inline(__always) mutating func tap(_ r: UnsafePointer<Float>, _ w: UnsafePointer<Float>) {
        let x = load16(r), y = load16(r + 16)
        var k = SIMD16<Float>(repeating: w[0]); a0 = a0.addingProduct(x, k); b0 = b0.addingProduct(y, k)
        k = SIMD16(repeating: w[1]); a1 = a1.addingProduct(x, k); b1 = b1.addingProduct(y, k)
        k = SIMD16(repeating: w[2]); a2 = a2.addingProduct(x, k); b2 = b2.addingProduct(y, k)
        k = SIMD16(repeating: w[3]); a3 = a3.addingProduct(x, k); b3 = b3.addingProduct(y, k)
        k = SIMD16(repeating: w[4]); a4 = a4.addingProduct(x, k); b4 = b4.addingProduct(y, k)
        k = SIMD16(repeating: w[5]); a5 = a5.addingProduct(x, k); b5 = b5.addingProduct(y, k)
        k = SIMD16(repeating: w[6]); a6 = a6.addingProduct(x, k); b6 = b6.addingProduct(y, k)
        k = SIMD16(repeating: w[7]); a7 = a7.addingProduct(x, k); b7 = b7.addingProduct(y, k)
    }

    @inline(__always) func store(_ o: UnsafeMutablePointer<Float>) {
        store16(a0, o); store16(b0, o + 16); store16(a1, o + 32); store16(b1, o + 48)
        store16(a2, o + 64); store16(b2, o + 80); store16(a3, o + 96); store16(b3, o + 112)
        store16(a4, o + 128); store16(b4, o + 144); store16(a5, o + 160); store16(b5, o + 176)
        store16(a6, o + 192); store16(b6, o + 208); store16(a7, o + 224); store16(b7, o + 240)
    }
}

private struct Tile16x16: Accumulators {
    static var channels: Int { 16 }
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
    var a4 = SIMD16<Float>(), a5 = SIMD16<Float>(), a6 = SIMD16<Float>(), a7 = SIMD16<Float>()
    var a8 = SIMD16<Float>(), a9 = SIMD16<Float>(), a10 = SIMD16<Float>(), a11 = SIMD16<Float>()
    var a12 = SIMD16<Float>(), a13 = SIMD16<Float>(), a14 = SIMD16<Float>(), a15 = SIMD16<Float>()

    @inline(__always) mutating func tap(_ r: UnsafePointer<Float>, _ w: UnsafePointer<Float>) {
        let x = load16(r)
        a0 = a0.addingProduct(x, SIMD16(repeating: w[0])); a1 = a1.addingProduct(x, SIMD16(repeating: w[1]))
        a2 = a2.addingProduct(x, SIMD16(repeating: w[2])); a3 = a3.addingProduct(x, SIMD16(repeating: w[3]))
        a4 = a4.addingProduct(x, SIMD16(repeating: w[4])); a5 = a5.addingProduct(x, SIMD16(repeating: w[5]))
        a6 = a6.addingProduct(x, SIMD16(repeating: w[6])); a7 = a7.addingProduct(x, SIMD16(repeating: w[7]))
        a8 = a8.addingProduct(x, SIMD16(repeating: w[8])); a9 = a9.addingProduct(x, SIMD16(repeating: w[9]))
        a10 = a10.addingProduct(x, SIMD16(repeating: w[10])); a11 = a11.addingProduct(x, SIMD16(repeating: w[11]))
        a12 = a12.addingProduct(x, SIMD16(repeating: w[12])); a13 = a13.addingProduct(x, SIMD16(repeating: w[13]))
        a14 = a14.addingProduct(x, SIMD16(repeating: w[14])); a15 = a15.addingProduct(x, SIMD16(repeating: w[15]))
    }

    @inline(__always) func store(_ o: UnsafeMutablePointer<Float>) {
        store16(a0, o); store16(a1, o + 16); store16(a2, o + 32); store16(a3, o + 48)
        store16(a4, o + 64); store16(a5, o + 80); store16(a6, o + 96); store16(a7, o + 112)
        store16(a8, o + 128); store16(a9, o + 144); store16(a10, o + 160); store16(a11, o + 176)
        store16(a12, o + 192); store16(a13, o + 208); store16(a14, o + 224); store16(a15, o + 240)
    }
}
