/// Register tiles of the direct convolution: `channels` output channels x `vectors` x 8 output
/// pixels of one row, all accumulators in ymm registers (AVX2 has 16: 12 accumulators, the
/// input vectors and one broadcast weight). One tap costs `vectors` loads, `channels`
/// broadcasts and channels x vectors FMAs. Which shape a layer uses depends on its width and
/// output channels (`ConvKernel.DirectShape`): the shape that computes the fewest wasted lanes.
protocol DirectTile {
    static var channels: Int { get }
    static var vectors: Int { get }
    init()
    /// One kernel tap at input `r`; `w` holds the tap's `channels` weights side by side.
    mutating func tap(_ r: UnsafePointer<Float>, _ w: UnsafePointer<Float>)
    /// The accumulators to memory, [channels][vectors].
    func spill(_ out: UnsafeMutablePointer<SIMD8<Float>>)
}

extension DirectTile {
    static var pixels: Int { vectors * 8 }

    /// The tile's sums over every input channel and tap, each loop in a function of its own:
    /// inlined into the row loops, LLVM's register allocation varied with the code around it
    /// and kept some accumulators on the stack (up to 2x slower).
    @inline(never) static func sum3x3(_ row: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ inputs: Int,
                                      _ channelStride: Int, _ rowStride: Int, _ dx: Int) -> Self {
        var acc = Self()
        acc.run3x3(row, w, inputs, channelStride, rowStride, dx)
        return acc
    }

    @inline(never) static func sum(_ row: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ inputs: Int,
                                   _ channelStride: Int, _ rowStride: Int, _ kh: Int, _ kw: Int) -> Self {
        var acc = Self()
        acc.runGeneric(row, w, inputs, channelStride, rowStride, kh, kw)
        return acc
    }

    /// `dx` is the tap step (always 1 here) passed at run time on purpose: with a constant step
    /// LLVM sees the overlapping loads of neighbouring taps and rebuilds them with shuffles,
    /// which costs more registers than AVX2 has and spills the accumulators.
    @inline(__always) mutating func run3x3(_ row: UnsafePointer<Float>, _ w0: UnsafePointer<Float>, _ inputs: Int,
                                           _ channelStride: Int, _ rowStride: Int, _ dx: Int) {
        // One flat loop over (channel, kernel row): with a channel loop around a row loop,
        // LLVM keeps some accumulators on the stack across the channel loop.
        let p = Self.channels
        let nextChannel = channelStride - 2 * rowStride
        var w = w0
        var r = row
        var ky = 0
        for _ in 0..<(inputs * 3) {
            tap(r, w); tap(r + dx, w + p); tap(r + 2 * dx, w + 2 * p)
            w += 3 * p
            r += ky == 2 ? nextChannel : rowStride
            ky = ky == 2 ? 0 : ky + 1
        }
    }

    @inline(__always) mutating func runGeneric(_ row: UnsafePointer<Float>, _ w0: UnsafePointer<Float>, _ inputs: Int,
                                               _ channelStride: Int, _ rowStride: Int, _ kh: Int, _ kw: Int) {
        var w = w0
        for c in 0..<inputs {
            for ky in 0..<kh {
                let r = row + c * channelStride + ky * rowStride
                for kx in 0..<kw { tap(r + kx, w); w += Self.channels }
            }
        }
    }
}

/// 3 channels x 32 pixels: rows whose width is a multiple of 32 (32-128 wide, 32+ channels),
/// where 24-pixel tiles leave an 8-pixel remainder computed at half use.
struct Tile3x32: DirectTile {
    static var channels: Int { 3 }
    static var vectors: Int { 4 }
    var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>(), a03 = SIMD8<Float>()
    var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>(), a13 = SIMD8<Float>()
    var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a22 = SIMD8<Float>(), a23 = SIMD8<Float>()

    /// Broadcasts first, then one input vector at a time: 12 accumulators + 3 weights + 1 input
    /// fill the 16 registers exactly (4 inputs live at once would spill).
    @inline(__always) mutating func tap(_ r: UnsafePointer<Float>, _ w: UnsafePointer<Float>) {
        let b0 = SIMD8<Float>(repeating: w[0]), b1 = SIMD8<Float>(repeating: w[1]), b2 = SIMD8<Float>(repeating: w[2])
        var i = load8(r)
        a00 = a00.addingProduct(i, b0); a10 = a10.addingProduct(i, b1); a20 = a20.addingProduct(i, b2)
        i = load8(r + 8)
        a01 = a01.addingProduct(i, b0); a11 = a11.addingProduct(i, b1); a21 = a21.addingProduct(i, b2)
        i = load8(r + 16)
        a02 = a02.addingProduct(i, b0); a12 = a12.addingProduct(i, b1); a22 = a22.addingProduct(i, b2)
        i = load8(r + 24)
        a03 = a03.addingProduct(i, b0); a13 = a13.addingProduct(i, b1); a23 = a23.addingProduct(i, b2)
    }

    @inline(__always) func spill(_ o: UnsafeMutablePointer<SIMD8<Float>>) {
        o[0] = a00; o[1] = a01; o[2] = a02; o[3] = a03; o[4] = a10; o[5] = a11
        o[6] = a12; o[7] = a13; o[8] = a20; o[9] = a21; o[10] = a22; o[11] = a23
    }
}

/// 6 channels x 16 pixels: 16-wide rows (the bottleneck), where 4 x 16 would keep only 8
/// accumulators busy.
struct Tile6x16: DirectTile {
    static var channels: Int { 6 }
    static var vectors: Int { 2 }
    var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a10 = SIMD8<Float>(), a11 = SIMD8<Float>()
    var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a30 = SIMD8<Float>(), a31 = SIMD8<Float>()
    var a40 = SIMD8<Float>(), a41 = SIMD8<Float>(), a50 = SIMD8<Float>(), a51 = SIMD8<Float>()

    @inline(__always) mutating func tap(_ r: UnsafePointer<Float>, _ w: UnsafePointer<Float>) {
        let i0 = load8(r), i1 = load8(r + 8)
        var b = SIMD8<Float>(repeating: w[0])
        a00 = a00.addingProduct(i0, b); a01 = a01.addingProduct(i1, b)
        b = SIMD8<Float>(repeating: w[1])
        a10 = a10.addingProduct(i0, b); a11 = a11.addingProduct(i1, b)
        b = SIMD8<Float>(repeating: w[2])
        a20 = a20.addingProduct(i0, b); a21 = a21.addingProduct(i1, b)
        b = SIMD8<Float>(repeating: w[3])
        a30 = a30.addingProduct(i0, b); a31 = a31.addingProduct(i1, b)
        b = SIMD8<Float>(repeating: w[4])
        a40 = a40.addingProduct(i0, b); a41 = a41.addingProduct(i1, b)
        b = SIMD8<Float>(repeating: w[5])
        a50 = a50.addingProduct(i0, b); a51 = a51.addingProduct(i1, b)
    }

    @inline(__always) func spill(_ o: UnsafeMutablePointer<SIMD8<Float>>) {
        o[0] = a00; o[1] = a01; o[2] = a10; o[3] = a11; o[4] = a20; o[5] = a21
        o[6] = a30; o[7] = a31; o[8] = a40; o[9] = a41; o[10] = a50; o[11] = a51
    }
}

/// 4 channels x 24 pixels: rows of any width, 16-channel layers.
struct Tile4x24: DirectTile {
    static var channels: Int { 4 }
    static var vectors: Int { 3 }
    var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>()
    var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>()
    var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a22 = SIMD8<Float>()
    var a30 = SIMD8<Float>(), a31 = SIMD8<Float>(), a32 = SIMD8<Float>()

    @inline(__always) mutating func tap(_ r: UnsafePointer<Float>, _ w: UnsafePointer<Float>) {
        let i0 = load8(r), i1 = load8(r + 8), i2 = load8(r + 16)
        var b = SIMD8<Float>(repeating: w[0])
        a00 = a00.addingProduct(i0, b); a01 = a01.addingProduct(i1, b); a02 = a02.addingProduct(i2, b)
        b = SIMD8<Float>(repeating: w[1])
        a10 = a10.addingProduct(i0, b); a11 = a11.addingProduct(i1, b); a12 = a12.addingProduct(i2, b)
        b = SIMD8<Float>(repeating: w[2])
        a20 = a20.addingProduct(i0, b); a21 = a21.addingProduct(i1, b); a22 = a22.addingProduct(i2, b)
        b = SIMD8<Float>(repeating: w[3])
        a30 = a30.addingProduct(i0, b); a31 = a31.addingProduct(i1, b); a32 = a32.addingProduct(i2, b)
    }

    @inline(__always) func spill(_ o: UnsafeMutablePointer<SIMD8<Float>>) {
        o[0] = a00; o[1] = a01; o[2] = a02; o[3] = a10; o[4] = a11; o[5] = a12
        o[6] = a20; o[7] = a21; o[8] = a22; o[9] = a30; o[10] = a31; o[11] = a32
    }
}

/// 4 channels x 16 pixels: the row tail of `Tile4x24` (same weight packing).
struct Tile4x16: DirectTile {
    static var channels: Int { 4 }
    static var vectors: Int { 2 }
    var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a10 = SIMD8<Float>(), a11 = SIMD8<Float>()
    var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a30 = SIMD8<Float>(), a31 = SIMD8<Float>()

    @inline(__always) mutating func tap(_ r: UnsafePointer<Float>, _ w: UnsafePointer<Float>) {
        let i0 = load8(r), i1 = load8(r + 8)
        var b = SIMD8<Float>(repeating: w[0])
        a00 = a00.addingProduct(i0, b); a01 = a01.addingProduct(i1, b)
        b = SIMD8<Float>(repeating: w[1])
        a10 = a10.addingProduct(i0, b); a11 = a11.addingProduct(i1, b)
        b = SIMD8<Float>(repeating: w[2])
        a20 = a20.addingProduct(i0, b); a21 = a21.addingProduct(i1, b)
        b = SIMD8<Float>(repeating: w[3])
        a30 = a30.addingProduct(i0, b); a31 = a31.addingProduct(i1, b)
    }

    @inline(__always) func spill(_ o: UnsafeMutablePointer<SIMD8<Float>>) {
        o[0] = a00; o[1] = a01; o[2] = a10; o[3] = a11; o[4] = a20; o[5] = a21; o[6] = a30; o[7] = a31
    }
}
