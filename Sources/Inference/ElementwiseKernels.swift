import Foundation

/// y = activation(x), elementwise (Relu, LeakyRelu, Sigmoid, Tanh, Clip).
final class ActivationKernel: Kernel {
    let count: Int, activation: Activation
    init(count: Int, activation: Activation) { self.count = count; self.activation = activation }

    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        let x = inputs[0], y = outputs[0]
        parallel.forEach((count + 4095) / 4096) { _, blocks in
            let lo = blocks.lowerBound * 4096, hi = min(count, blocks.upperBound * 4096)
            (y + lo).update(from: x + lo, count: hi - lo)
            activation.apply(y + lo, hi - lo)
        }
    }
}

/// Plain copy: Identity/Reshape/Flatten/Squeeze/Unsqueeze on computed values.
final class CopyKernel: Kernel {
    let count: Int
    init(count: Int) { self.count = count }
    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        outputs[0].update(from: inputs[0], count: count)
    }
}

/// y[n, c, ...] = x[n, c, ...] * scale[c] + shift[c] (standalone BatchNormalization).
final class ChannelAffineKernel: Kernel {
    let n: Int, c: Int, inner: Int, scale: [Float], shift: [Float]
    init(n: Int, c: Int, inner: Int, scale: [Float], shift: [Float]) {
        self.n = n; self.c = c; self.inner = inner; self.scale = scale; self.shift = shift
    }
    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        let x = inputs[0], y = outputs[0]
        parallel.forEach(n * c) { _, ps in
            for p in ps {
                let s = scale[p % c], t = shift[p % c]
                for i in 0..<inner { y[p * inner + i] = x[p * inner + i] * s + t }
            }
        }
    }
}

/// Numpy-broadcasting binary op (Add, Sub, Mul, Div).
final class BinaryKernel: Kernel {
    enum Op { case add, sub, mul, div }
    let op: Op
    let outShape: [Int]
    let aStrides: [Int], bStrides: [Int]   // per output axis, 0 where broadcast
    /// The loop's axes: size-1 axes dropped and neighbours that both operands step through
    /// contiguously merged ([1,1280,7,7] x [1,1,7,7] runs 1280 rows of 49, not 8960 of 7).
    private let dims: [Int], loopA: [Int], loopB: [Int]

    init(op: Op, a: [Int], b: [Int], out: [Int]) {
        self.op = op; outShape = out
        func bstrides(_ s: [Int]) -> [Int] {
            let padded = [Int](repeating: 1, count: out.count - s.count) + s
            let st = strides(of: padded)
            return (0..<out.count).map { padded[$0] == 1 && out[$0] != 1 ? 0 : st[$0] }
        }
        aStrides = bstrides(a); bStrides = bstrides(b)
        var dims: [Int] = [], loopA: [Int] = [], loopB: [Int] = []
        for ax in out.indices where out[ax] != 1 {
            if let last = dims.indices.last, loopA[last] == aStrides[ax] * out[ax], loopB[last] == bStrides[ax] * out[ax] {
                dims[last] *= out[ax]; loopA[last] = aStrides[ax]; loopB[last] = bStrides[ax]
            } else {
                dims.append(out[ax]); loopA.append(aStrides[ax]); loopB.append(bStrides[ax])
            }
        }
        if dims.isEmpty { dims = [1]; loopA = [0]; loopB = [0] }
        self.dims = dims; self.loopA = loopA; self.loopB = loopB
    }

    @inline(__always) private func apply(_ a: Float, _ b: Float) -> Float {
        switch op { case .add: return a + b; case .sub: return a - b; case .mul: return a * b; case .div: return a / b }
    }

    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        let a = inputs[0], b = inputs[1], y = outputs[0]
        let rank = dims.count
        let inner = dims[rank - 1], sa = loopA[rank - 1], sb = loopB[rank - 1]
        let rows = dims.reduce(1, *) / max(inner, 1)
        parallel.forEach(rows) { [dims, loopA, loopB] _, rs in
            for row in rs {
                // Offsets of this row in a and b from its multi-index.
                var rem = row, oa = 0, ob = 0
                for ax in stride(from: rank - 2, through: 0, by: -1) {
                    let i = rem % dims[ax]; rem /= dims[ax]
                    oa += i * loopA[ax]; ob += i * loopB[ax]
                }
                let d = y + row * inner, pa = a + oa, pb = b + ob
                // Hoist the op and the common stride patterns so the loops vectorise.
                if sa == 1 && sb == 1 {
                    switch op {
                    case .add: for i in 0..<inner { d[i] = pa[i] + pb[i] }
                    case .sub: for i in 0..<inner { d[i] = pa[i] - pb[i] }
                    case .mul: for i in 0..<inner { d[i] = pa[i] * pb[i] }
                    case .div: for i in 0..<inner { d[i] = pa[i] / pb[i] }
                    }
                } else if sa == 1 && sb == 0 {
                    let v = pb[0]
                    switch op {
                    case .add: for i in 0..<inner { d[i] = pa[i] + v }
                    case .sub: for i in 0..<inner { d[i] = pa[i] - v }
                    case .mul: for i in 0..<inner { d[i] = pa[i] * v }
                    case .div: for i in 0..<inner { d[i] = pa[i] / v }
                    }
                } else {
                    for i in 0..<inner { d[i] = apply(pa[i * sa], pb[i * sb]) }
                }
            }
        }
    }
}

/// Concat along `axis`: each input contributes a contiguous block per outer index.
final class ConcatKernel: Kernel {
    let outer: Int, blocks: [Int]          // floats per outer index, per input
    /// Channels per input when this is an NCHW channel concat (lets a following conv absorb it).
    let channelSegments: [Int]?
    init(outer: Int, blocks: [Int], channelSegments: [Int]? = nil) {
        self.outer = outer; self.blocks = blocks; self.channelSegments = channelSegments
    }
    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        let total = blocks.reduce(0, +), y = outputs[0]
        parallel.forEach(outer * blocks.count) { _, items in
            for item in items {
                let o = item / blocks.count, k = item % blocks.count
                let off = blocks[..<k].reduce(0, +)
                (y + o * total + off).update(from: inputs[k] + o * blocks[k], count: blocks[k])
            }
        }
    }
}

/// Transpose by a permutation (odometer over the output).
final class TransposeKernel: Kernel {
    let outShape: [Int], srcStrides: [Int]
    init(inShape: [Int], perm: [Int]) {
        let st = strides(of: inShape)
        outShape = perm.map { inShape[$0] }; srcStrides = perm.map { st[$0] }
    }
    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        let x = inputs[0], y = outputs[0], count = outShape.reduce(1, *), rank = outShape.count
        var idx = [Int](repeating: 0, count: rank), off = 0
        for i in 0..<count {
            y[i] = x[off]
            var ax = rank - 1
            while ax >= 0 {
                idx[ax] += 1; off += srcStrides[ax]
                if idx[ax] < outShape[ax] { break }
                off -= srcStrides[ax] * outShape[ax]; idx[ax] = 0; ax -= 1
            }
        }
    }
}

/// Softmax over `axis` length with `inner` trailing elements (outer x axis x inner).
final class SoftmaxKernel: Kernel {
    let outer: Int, axis: Int, inner: Int
    init(outer: Int, axis: Int, inner: Int) { self.outer = outer; self.axis = axis; self.inner = inner }
    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        let x = inputs[0], y = outputs[0]
        for o in 0..<outer { for i in 0..<inner {
            let base = o * axis * inner + i
            var mx = -Float.infinity
            for k in 0..<axis { mx = max(mx, x[base + k * inner]) }
            var sum: Float = 0
            for k in 0..<axis { let e = Foundation.exp(x[base + k * inner] - mx); y[base + k * inner] = e; sum += e }
            for k in 0..<axis { y[base + k * inner] /= sum }
        } }
    }
}

/// ReduceMean over a set of axes (output keeps reduced axes as 1; reshaping is free).
final class ReduceMeanKernel: Kernel {
    let inShape: [Int], outStrides: [Int], outCount: Int, divisor: Float
    init(inShape: [Int], axes: Set<Int>) {
        self.inShape = inShape
        let kept = inShape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        let st = strides(of: kept)
        outStrides = (0..<inShape.count).map { axes.contains($0) ? 0 : st[$0] }
        outCount = kept.reduce(1, *)
        divisor = Float(inShape.reduce(1, *) / max(outCount, 1))
    }
    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        let x = inputs[0], y = outputs[0], rank = inShape.count
        y.update(repeating: 0, count: outCount)
        var idx = [Int](repeating: 0, count: rank), off = 0
        for i in 0..<inShape.reduce(1, *) {
            y[off] += x[i]
            var ax = rank - 1
            while ax >= 0 {
                idx[ax] += 1; off += outStrides[ax]
                if idx[ax] < inShape[ax] { break }
                off -= outStrides[ax] * inShape[ax]; idx[ax] = 0; ax -= 1
            }
        }
        for i in 0..<outCount { y[i] /= divisor }
    }
}
