import CBLAS
import InferenceAVX512

/// 2-D convolution geometry, resolved at load (pads already final).
struct ConvGeometry {
    var n, c, h, w: Int          // input
    var m, ho, wo: Int           // output channels and size
    var kh, kw: Int
    var sh, sw: Int
    var dh, dw: Int
    var padTop, padLeft, padBottom, padRight: Int
    var group: Int

    var cPerGroup: Int { c / group }
    var mPerGroup: Int { m / group }
    var flops: Double { 2 * Double(n * m * ho * wo) * Double(cPerGroup * kh * kw) }
}

/// Conv with bias and fused activation. Two strategies chosen per layer shape:
/// `direct` (stride 1, group 1: SIMD register tiles of output channels x pixels, the tile
/// shape chosen per layer; wins at few channels/high resolution, where im2col traffic
/// dominates) and `gemm` (im2col + OpenBLAS sgemm: everything else).
final class ConvKernel: Kernel {
    let g: ConvGeometry
    let weights: [Float]             // [M, C/g, kh, kw]
    let bias: [Float]                // [M]
    let activation: Activation
    let useDirect: Bool
    /// Channels per input buffer: one entry, or several when a Concat feeding this conv was fused.
    let segments: [Int]
    /// A conv whose output only this one reads, fused: its rows are computed inside this
    /// conv's row window (`streamRows`), and this kernel's inputs are the producer's.
    let producer: ConvKernel?
    /// A Concat segment whose rows a fused 2x2 up-sampling (ConvTranspose) computes as the row
    /// window needs them; that segment's input is the ConvTranspose's input.
    let upsampler: (segment: Int, kernel: ConvTransposeKernel)?
    /// Direct path: register tile, and weights repacked [blocks][C][kh][kw][channels of the
    /// tile] so one tap's broadcasts are adjacent.
    let shape: DirectShape
    private var packed: [Float] = []
    /// Direct path, weights-outer layers: the whole padded input [row][channel][column] (many
    /// channels) or planar. Rows-outer layers pad row by row (`streamRows`).
    private let interleaved: Bool
    private let hp: Int, wp: Int     // padded input size (direct path)
    /// GEMM path: output pixels per im2col chunk.
    private let chunk: Int

    init(_ g: ConvGeometry, weights: [Float], bias: [Float]?, activation: Activation, segments: [Int]? = nil,
         producer: ConvKernel? = nil, upsampler: (segment: Int, kernel: ConvTransposeKernel)? = nil) {
        self.g = g
        self.producer = producer
        self.upsampler = upsampler
        self.segments = segments ?? [g.c]
        self.weights = weights
        self.bias = bias ?? [Float](repeating: 0, count: g.m)
        self.activation = activation
        useDirect = ConvKernel.prefersDirect(g)
        shape = ConvKernel.directShape(g)
        interleaved = g.c >= 64
        hp = g.h + g.padTop + g.padBottom
        wp = g.w + g.padLeft + g.padRight
        chunk = ConvKernel.gemmChunk(g)
        if useDirect { packWeights() }
        precondition(upsampler == nil || (useDirect && !ConvKernel.weightsOuter(g)), "an up-sampling fuses into row windows only")
    }

    var flops: Double { g.flops + (producer?.flops ?? 0) + (upsampler?.kernel.flops ?? 0) }

    static func prefersDirect(_ g: ConvGeometry) -> Bool {
        g.group == 1 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1
            && g.kh * g.kw > 1 && g.wo >= 8 && g.m >= 4
    }

    private func packWeights() {
        let p = shape.channels, kk = g.kh * g.kw
        packed = [Float](repeating: 0, count: channelBlocks * g.c * kk * p)
        for m in 0..<g.m {
            for c in 0..<g.c { for k in 0..<kk {
                packed[(((m / p) * g.c + c) * kk + k) * p + m % p] = weights[(m * g.c + c) * kk + k]
            } }
        }
    }

    func scratchFloats(threads: Int) -> Int {
        if useDirect { return weightsOuter ? g.c * hp * wp + 64 : threads * workerFloats }
        if isPointwise { return 0 }
        return threads * g.cPerGroup * g.kh * g.kw * chunk + 64
    }

    private var isPointwise: Bool { Self.isPointwise(g) }

    /// 1x1, stride 1, no padding: a plain GEMM over the input planes, no im2col.
    static func isPointwise(_ g: ConvGeometry) -> Bool {
        g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.padTop == 0 && g.padLeft == 0
            && g.padBottom == 0 && g.padRight == 0
    }

    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        for b in 0..<g.n {
            let y = outputs[0] + b * g.m * g.ho * g.wo
            if useDirect { runDirect((producer ?? self).planes(inputs, b), y, scratch, parallel) }
            else { runGemm(inputs[0] + b * g.c * g.h * g.w, y, scratch, parallel) }
        }
    }

    // MARK: GEMM path

    private func runGemm(_ x: FloatPtr, _ y: FloatPtr, _ scratch: FloatPtr, _ parallel: Parallel) {
        let pixels = g.ho * g.wo, k = g.cPerGroup * g.kh * g.kw
        let chunks = (pixels + chunk - 1) / chunk
        let perThread = k * chunk
        let rowPieces = self.rowPieces, rowsPerPiece = (g.mPerGroup + rowPieces - 1) / rowPieces
        weights.withUnsafeBufferPointer { wbuf in
            bias.withUnsafeBufferPointer { bbuf in
                parallel.forEach(g.group * chunks * rowPieces) { worker, items in
                    let cols = scratch + worker * perThread
                    for item in items {
                        let grp = item / (chunks * rowPieces), piece = item % (chunks * rowPieces)
                        let p0 = (piece / rowPieces) * chunk, m0 = (piece % rowPieces) * rowsPerPiece
                        let np = min(chunk, pixels - p0), rows = min(rowsPerPiece, g.mPerGroup - m0)
                        let xg = x + grp * g.cPerGroup * g.h * g.w
                        let yg = y + (grp * g.mPerGroup + m0) * pixels
                        let wg = wbuf.baseAddress! + (grp * g.mPerGroup + m0) * k
                        if isPointwise {
                            wecare_sgemm(0, 0, Int32(rows), Int32(np), Int32(k),
                                        1, wg, Int32(k), xg + p0, Int32(pixels), 0, yg + p0, Int32(pixels))
                        } else {
                            im2col(xg, cols, p0, np)
                            wecare_sgemm(0, 0, Int32(rows), Int32(np), Int32(k),
                                        1, wg, Int32(k), cols, Int32(np), 0, yg + p0, Int32(pixels))
                        }
                        for m in 0..<rows {
                            activation.apply(yg + m * pixels + p0, np, bias: bbuf[grp * g.mPerGroup + m0 + m])
                        }
                    }
                }
            }
        }
    }

    /// A 1x1 conv at low resolution (the encoder's last stages: 196 or 49 pixels) is split by
    /// output channels too, in up to 4 fixed pieces of 16+ rows: split by pixels alone, its
    /// pieces were too small for OpenBLAS and a second thread gained little. Fixed, so the
    /// results never depend on the thread count.
    private var rowPieces: Int {
        guard Self.splitsByOutputChannels(g) else { return 1 }
        return max(1, min(4, g.mPerGroup / 16))
    }

    static func splitsByOutputChannels(_ g: ConvGeometry) -> Bool { isPointwise(g) && g.ho * g.wo <= 1024 }

    /// Output pixels per GEMM call: at most what keeps the columns in cache, and with few input
    /// channels (one chunk would hold the whole image and leave a second thread idle) in up to
    /// `gemmPieces` pieces of whole vectors. The pieces never depend on the thread count, so
    /// neither do the results (OpenBLAS sums a narrower piece's edge otherwise).
    static let gemmPieces = 4
    static func gemmChunk(_ g: ConvGeometry) -> Int {
        let pixels = g.ho * g.wo, k = g.cPerGroup * g.kh * g.kw
        let chunk = min(pixels, max(256, 32768 / max(1, k) * 8))
        if splitsByOutputChannels(g) { return pixels }   // split by output channels instead (`rowPieces`)
        let piece = (pixels + gemmPieces - 1) / gemmPieces
        return max(16, min(chunk, (piece + 15) / 16 * 16))
    }

    /// Columns for output pixels p0..<p0+np of one group: [C/g*kh*kw, np].
    private func im2col(_ x: FloatPtr, _ cols: FloatPtr, _ p0: Int, _ np: Int) {
        var row = 0
        for c in 0..<g.cPerGroup {
            let plane = x + c * g.h * g.w
            for ky in 0..<g.kh { for kx in 0..<g.kw {
                let dst = cols + row * np
                var oy = p0 / g.wo, ox = p0 % g.wo
                for i in 0..<np {
                    let iy = oy * g.sh - g.padTop + ky * g.dh, ix = ox * g.sw - g.padLeft + kx * g.dw
                    dst[i] = (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) ? plane[iy * g.w + ix] : 0
                    ox += 1
                    if ox == g.wo { ox = 0; oy += 1 }
                }
                row += 1
            } }
        }
    }

    // MARK: Direct path

    /// Register tile of the direct path (DirectConvTiles.swift), chosen per layer.
    enum DirectShape {
        case c4x24, c3x32, c6x16
        /// AVX-512 tiles (InferenceAVX512), chosen only when the active kernel set is avx512.
        case wide(WideTile)
        var channels: Int {
            switch self {
            case .c4x24: Tile4x24.channels
            case .c3x32: Tile3x32.channels
            case .c6x16: Tile6x16.channels
            case .wide(let t): t.channels
            }
        }
    }

    /// The shape that computes the fewest wasted lanes: output channels padded to the tile,
    /// pixels rounded up to whole tiles. The 16-pixel tail of 4x24 keeps only 8 accumulators
    /// busy, which FMA latency makes cost about 1.2x; 3x32 and 6x16 run about 1.1x slower per
    /// useful lane than 4x24 (measured: 4x24 wins at 64 and 128 wide, 3x32 at 32, 6x16 at 16).
    static func directShape(_ g: ConvGeometry, set: KernelSet = (try? KernelSet.active())?.set ?? .avx2) -> DirectShape {
        func up(_ n: Int, _ k: Int) -> Double { Double((n + k - 1) / k * k) }
        if set == .avx512 {
            // Time per useful lane relative to 16x16, measured on the Lite0 UNet's decoder (best
            // of 3 profiles per layer at 1 thread, every layer forced to each tile): 8x32 ran
            // 1.0-1.7x slower than 16x16 on every layer there (a 12x32 tile, slower still, was
            // dropped).
            let efficiency: [WideTile: Double] = [.c16x16: 1.0, .c8x32: 1.15]
            let best = WideTile.allCases.min { a, b in
                func cost(_ t: WideTile) -> Double {
                    efficiency[t]! * up(g.m, t.channels) / Double(g.m) * up(g.wo, t.pixels) / Double(g.wo)
                }
                return cost(a) < cost(b)
            }!
            return .wide(best)
        }
        let m = Double(g.m), w = Double(g.wo)
        let rest = g.wo % 24
        let tail = rest == 0 ? 0 : (rest <= 16 ? 16 * 1.2 : 24)
        let costs: [(DirectShape, Double)] = [
            (.c4x24, up(g.m, 4) / m * (Double(g.wo - rest) + tail) / w),
            (.c3x32, 1.1 * up(g.m, 3) / m * up(g.wo, 32) / w),
            (.c6x16, 1.1 * up(g.m, 6) / m * up(g.wo, 16) / w),
        ]
        return costs.min { $0.1 < $1.1 }!.0
    }

    /// Input planes per channel for batch item `b` (segments = inputs of a fused Concat).
    private func planes(_ inputs: [FloatPtr], _ b: Int) -> [UnsafePointer<Float>] {
        var out: [UnsafePointer<Float>] = []
        out.reserveCapacity(g.c)
        for (k, ch) in segments.enumerated() {
            if let up = upsampler, up.segment == k {
                // Every channel of the segment gets the up-sampling's input (this batch item).
                let ug = up.kernel.g
                out += repeatElement(UnsafePointer(inputs[k] + b * ug.c * ug.h * ug.w), count: ch)
                continue
            }
            let base = inputs[k] + b * ch * g.h * g.w
            for c in 0..<ch { out.append(UnsafePointer(base + c * g.h * g.w)) }
        }
        return out
    }

    /// Padded input row `r` into its window slots (`r % kh` and `r % kh + kh`, see `streamRows`).
    private func fillSlot(_ planes: [UnsafePointer<Float>], _ r: Int, _ win: FloatPtr, _ cs: Int,
                          _ buffer: FloatPtr, _ packedRow: inout Int) {
        fillRow(planes, r, win + (r % g.kh) * wp, cs, buffer, &packedRow)
        duplicateSlot(win, r % g.kh, cs)
    }

    private func duplicateSlot(_ win: FloatPtr, _ slot: Int, _ cs: Int) {
        for c in 0..<g.c {
            let plane = win + c * cs
            (plane + (slot + g.kh) * wp).update(from: plane + slot * wp, count: wp)
        }
    }

    /// Padded input row `r` of every channel into `dst` (channel stride `cs`): copied from the
    /// planes, or for an up-sampled segment computed into its image columns (the window's pad
    /// columns stay zero). `buffer`/`packedRow`: the up-sampling's packed input row.
    private func fillRow(_ planes: [UnsafePointer<Float>], _ r: Int, _ dst: FloatPtr, _ cs: Int,
                         _ buffer: FloatPtr, _ packedRow: inout Int) {
        guard let up = upsampler else {
            for c in 0..<g.c { padRow(planes[c], r, dst + c * cs) }
            return
        }
        var c0 = 0
        for (k, ch) in segments.enumerated() {
            if k == up.segment {
                let y = r - g.padTop
                if y >= 0 && y < g.h {
                    up.kernel.produceRow(planes[c0], y, dst + c0 * cs + g.padLeft, cs, buffer, &packedRow)
                } else {
                    for c in c0..<(c0 + ch) { (dst + c * cs).update(repeating: 0, count: wp) }
                }
            } else {
                for c in c0..<(c0 + ch) { padRow(planes[c], r, dst + c * cs) }
            }
            c0 += ch
        }
    }

    /// Large weights (deep layers): one work item = (channel block, output row), blocks outer,
    /// so one block's weights stay in L1/L2 while the rows stream by. Small weights: rows outer.
    private var weightsOuter: Bool { ConvKernel.weightsOuter(g) }
    static func weightsOuter(_ g: ConvGeometry) -> Bool { g.m * g.c * g.kh * g.kw * 4 > 192 * 1024 }

    /// Floats of one worker's row window (rows-outer path): 2 x kh padded rows per channel.
    private var windowFloats: Int { g.c * windowChannelStride + 64 }

    /// Floats from one channel's slots to the next in a row window.
    private var windowChannelStride: Int { 2 * g.kh * wp }

    /// Groups of `shape.channels` output channels (the last one may be partial).
    private var channelBlocks: Int { (g.m + shape.channels - 1) / shape.channels }

    /// One worker's scratch on the rows-outer path: its row window, the fused producer's, the
    /// packed input row of an up-sampling fused into either, and the output staging row.
    private var workerFloats: Int {
        windowFloats + (producer?.windowFloats ?? 0) + ((producer ?? self).upsampler?.kernel.rowBufferFloats ?? 0) + stageFloats
    }

    /// The rows-outer path computes each output row into a staging row, then copies it out one
    /// channel at a time. Stored straight into the output, the tiles' stores at one column went
    /// to 16-32 planes a power of two apart (64-256 kB): all in one L1 and L2 set, where they
    /// evicted each other's half-written lines. The staging row's channels lie an odd number of
    /// cache lines apart. Measured on busi_unet at 1 thread, per-layer minimums over 6 rounds:
    /// rows-outer layers 4-12% faster, all layers 80.8 -> 77.2 ms.
    private var stageStride: Int { ((g.wo + 15) / 16 / 2 * 2 + 1) * 16 }
    private var stageFloats: Int { g.m * stageStride + 64 }

    private func runDirect(_ planes: [UnsafePointer<Float>], _ y: FloatPtr, _ xp: FloatPtr, _ parallel: Parallel) {
        let blocks = channelBlocks
        packed.withUnsafeBufferPointer { pw in
            bias.withUnsafeBufferPointer { bb in
                let w = pw.baseAddress!, b = bb.baseAddress!
                if weightsOuter {
                    let layout = padAll(planes, xp, parallel)
                    parallel.forEach(g.ho * blocks) { _, items in
                        for item in items {
                            let blk = item / g.ho, oy = item % g.ho
                            directRow(UnsafePointer(xp + oy * layout.1), layout, y + oy * g.wo, w, b, g.ho * g.wo, blk..<(blk + 1))
                        }
                    }
                } else {
                    let perWorker = workerFloats
                    let stageOffset = perWorker - stageFloats   // the staging row ends each worker's scratch
                    // A run restarts the window: kh - 1 rows (and a fused producer's rows) again.
                    parallel.forEachRun(g.ho, minimumSteal: 2) { worker, rows in
                        let scratch = xp + worker * perWorker, stage = scratch + stageOffset
                        streamRows(planes, &rows, scratch) { row, layout, oy in
                            directRow(row, layout, stage, w, b, stageStride, 0..<blocks)
                            for m in 0..<g.m {
                                (y + m * g.ho * g.wo + oy * g.wo).update(from: stage + m * stageStride, count: g.wo)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Zero-padded copy of the whole input, so the inner loop has no bounds checks. Planar
    /// [channel][row][column] for few channels; [row][channel][column] for many, so the rows
    /// one output row reads lie together instead of in 3 x C streams a plane apart, more than
    /// the hardware prefetchers follow. Returns (channel stride, row stride).
    private func padAll(_ planes: [UnsafePointer<Float>], _ xp: FloatPtr, _ parallel: Parallel) -> (Int, Int) {
        let channelStride = interleaved ? wp : hp * wp, rowStride = interleaved ? g.c * wp : wp
        parallel.forEach(g.c) { _, cs in
            for c in cs {
                for r in 0..<hp { padRow(planes[c], r, xp + c * channelStride + r * rowStride) }
            }
        }
        // Tiles past the row end read (and discard) up to 31 floats beyond the last row.
        (xp + g.c * hp * wp).update(repeating: 0, count: 64)
        return (channelStride, rowStride)
    }

    /// Rows-outer path: instead of a padded copy of the whole input (at full resolution a
    /// round trip to memory as large as the input, and these layers are memory bound), each
    /// worker pads only the kh rows its current output row reads, into a small window that
    /// stays in cache. Padded row r sits in slots r % kh and r % kh + kh, so the kh rows of any
    /// output row are adjacent slots: [channel][2 kh slots][column].
    ///
    /// With a fused `producer`, the window's rows are the producer's output rows, computed as
    /// they are needed from the producer's own window (`producerWindow`): the intermediate
    /// tensor never goes to memory.
    private func streamRows(_ planes: [UnsafePointer<Float>], _ rows: inout WorkRun, _ win: FloatPtr,
                            _ body: (UnsafePointer<Float>, (Int, Int), Int) -> Void) {
        let kh = g.kh, channelStride = windowChannelStride
        let producerWindow = win + windowFloats
        let upBuffer = producerWindow + (producer?.windowFloats ?? 0)
        var produced = Int.min, packedRow = -1
        func fill(_ r: Int) {
            let slot = r % kh
            if let producer {
                let y = r - g.padTop
                if y >= 0 && y < g.h {
                    producer.produceRow(planes, y, producerWindow, &produced, win + slot * wp + g.padLeft, channelStride,
                                        upBuffer, &packedRow)
                } else {
                    for c in 0..<g.c { (win + c * channelStride + slot * wp).update(repeating: 0, count: wp) }
                }
                duplicateSlot(win, slot, channelStride)
            } else {
                fillSlot(planes, r, win, channelStride, upBuffer, &packedRow)
            }
        }
        // Zero padding columns (producers and up-samplings write only the image columns) and the
        // over-read guard.
        win.update(repeating: 0, count: windowFloats)
        if let producer { producerWindow.update(repeating: 0, count: producer.windowFloats) }
        guard let first = rows.next() else { return }
        for r in first..<(first + kh - 1) { fill(r) }
        var next: Int? = first
        while let oy = next {
            fill(oy + kh - 1)
            body(UnsafePointer(win + (oy % kh) * wp), (channelStride, wp), oy)
            next = rows.next()
        }
    }

    /// As a fused producer: output row `oy`, all channels, into `out` (channel stride `os`),
    /// from this conv's own row window `win`, where `filled` is the last padded input row
    /// (rows are asked for in increasing order).
    private func produceRow(_ planes: [UnsafePointer<Float>], _ oy: Int, _ win: FloatPtr, _ filled: inout Int,
                            _ out: FloatPtr, _ os: Int, _ upBuffer: FloatPtr, _ packedRow: inout Int) {
        let kh = g.kh, channelStride = windowChannelStride
        filled = max(filled, oy - 1)
        while filled < oy + kh - 1 {
            filled += 1
            fillSlot(planes, filled, win, channelStride, upBuffer, &packedRow)
        }
        let blocks = channelBlocks
        packed.withUnsafeBufferPointer { pw in
            bias.withUnsafeBufferPointer { bb in
                directRow(UnsafePointer(win + (oy % kh) * wp), (channelStride, wp), out, pw.baseAddress!, bb.baseAddress!,
                          os, 0..<blocks)
            }
        }
    }

    /// Whether this conv's output can be computed row by row inside `next`'s row window: both
    /// direct and rows-outer, shapes chained, no producer of its own.
    func canFeed(_ next: ConvGeometry) -> Bool {
        useDirect && !weightsOuter && producer == nil && ConvKernel.prefersDirect(next)
            && !ConvKernel.weightsOuter(next) && next.n == g.n && next.c == g.m && next.h == g.ho && next.w == g.wo
    }

    /// Padded row `r` (padded coordinates) of one input plane into `dst` (wp floats).
    @inline(__always)
    private func padRow(_ src: UnsafePointer<Float>, _ r: Int, _ dst: FloatPtr) {
        let y = r - g.padTop
        guard y >= 0 && y < g.h else { dst.update(repeating: 0, count: wp); return }
        dst.update(repeating: 0, count: g.padLeft)
        (dst + g.padLeft).update(from: src + y * g.w, count: g.w)
        (dst + g.padLeft + g.w).update(repeating: 0, count: g.padRight)
    }

    /// One output row; `row` is its first input row (padded, column 0), `y` the output row of
    /// channel 0 and `os` the output channel stride.
    private func directRow(_ row: UnsafePointer<Float>, _ layout: (Int, Int), _ y: FloatPtr, _ pw: UnsafePointer<Float>,
                           _ bias: UnsafePointer<Float>, _ os: Int, _ blks: Range<Int>) {
        switch shape {
        case .c4x24: tiles(Tile4x24.self, tail: Tile4x16.self, row, layout, y, pw, bias, os, blks)
        case .c3x32: tiles(Tile3x32.self, tail: Tile3x32.self, row, layout, y, pw, bias, os, blks)
        case .c6x16: tiles(Tile6x16.self, tail: Tile6x16.self, row, layout, y, pw, bias, os, blks)
        case .wide(let t): wideTiles(t, row, layout, y, pw, bias, os, blks)
        }
    }

    /// One output row in AVX-512 tiles: the tile's sums land in a small buffer, then bias,
    /// activation and store 8 pixels at a time, as the AVX2 tiles do.
    private func wideTiles(_ t: WideTile, _ row: UnsafePointer<Float>, _ layout: (Int, Int), _ y: FloatPtr,
                           _ pw: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, _ os: Int, _ blks: Range<Int>) {
        let p = t.channels, vectors = t.pixels / 8, kk = g.kh * g.kw
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: p * vectors) { buffer in
            let sums = UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: Float.self)
            var x0 = 0
            while x0 < g.wo {
                let n = min(t.pixels, g.wo - x0)
                for blk in blks {
                    t.sum(row + x0, pw + blk * g.c * kk * p, inputs: g.c, channelStride: layout.0, rowStride: layout.1,
                          kh: g.kh, kw: g.kw, dx: g.dw, into: sums)
                    for c in 0..<p {
                        for v in 0..<vectors { put(buffer[c * vectors + v], y, blk * p + c, os, x0 + 8 * v, n - 8 * v, bias) }
                    }
                }
                x0 += n
            }
        }
    }

    /// One output row in tiles of `T`; a remainder that fits the narrower `Tail` runs on it,
    /// any other partial last tile computes all lanes and stores its own.
    @inline(__always)
    private func tiles<T: DirectTile, Tail: DirectTile>(_: T.Type, tail _: Tail.Type, _ row: UnsafePointer<Float>,
                                                        _ layout: (Int, Int), _ y: FloatPtr, _ pw: UnsafePointer<Float>,
                                                        _ bias: UnsafePointer<Float>, _ os: Int, _ blks: Range<Int>) {
        var x0 = 0
        while x0 < g.wo {
            let n = min(T.pixels, g.wo - x0)
            let narrow = Tail.pixels < T.pixels && n <= Tail.pixels
            for blk in blks {
                if narrow { block(Tail.self, row + x0, layout, y, pw, bias, os, x0, n, blk) }
                else { block(T.self, row + x0, layout, y, pw, bias, os, x0, n, blk) }
            }
            x0 += n
        }
    }

    /// One tile: accumulate every input channel and tap, then bias, activation and store.
    @inline(__always)
    private func block<T: DirectTile>(_: T.Type, _ inRow: UnsafePointer<Float>, _ layout: (Int, Int), _ y: FloatPtr,
                                      _ pw: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
                                      _ os: Int, _ x0: Int, _ n: Int, _ blk: Int) {
        let kk = g.kh * g.kw
        let wBlock = pw + blk * g.c * kk * T.channels
        let acc = g.kh == 3 && g.kw == 3 ? T.sum3x3(inRow, wBlock, g.c, layout.0, layout.1, g.dw)
            : T.sum(inRow, wBlock, g.c, layout.0, layout.1, g.kh, g.kw)
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 12) { out in
            acc.spill(out.baseAddress!)
            for p in 0..<T.channels {
                let m = blk * T.channels + p
                for v in 0..<T.vectors { put(out[p * T.vectors + v], y, m, os, x0 + 8 * v, n - 8 * v, bias) }
            }
        }
    }

    /// Bias + activation + store of one accumulator (output channel m, 8 pixels at x; `y` is
    /// the output row of channel 0, `os` the channel stride).
    @inline(__always)
    private func put(_ acc: SIMD8<Float>, _ y: FloatPtr, _ m: Int, _ os: Int, _ x: Int, _ lanes: Int,
                     _ bias: UnsafePointer<Float>) {
        guard m < g.m, lanes > 0 else { return }
        let dst = y + m * os + x
        var r = acc + SIMD8<Float>(repeating: bias[m])
        switch activation {
        case .none: break
        case .relu: r = r.replacing(with: 0, where: r .< 0)
        default: r = activation.apply(r)
        }
        if lanes >= 8 { store8(r, dst) } else { for l in 0..<lanes { dst[l] = r[l] } }
    }
}
