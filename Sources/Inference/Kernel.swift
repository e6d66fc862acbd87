import Foundation

typealias FloatPtr = UnsafeMutablePointer<Float>

/// One executable step. Shapes are fixed at construction; `run` gets the planned buffers
/// (inputs in node order, then outputs) plus a scratch area of `scratchFloats` floats.
protocol Kernel: AnyObject {
    /// Floats of scratch this kernel needs when run with `threads` threads.
    func scratchFloats(threads: Int) -> Int
    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel)
    /// Multiply-adds x 2 (0 for data movement).
    var flops: Double { get }
}

extension Kernel {
    func scratchFloats(threads: Int) -> Int { 0 }
    var flops: Double { 0 }
}

/// Pointwise activation applied in a kernel epilogue (fused) or on its own.
enum Activation: Equatable {
    case none, relu, leakyRelu(Float), clip(Float, Float), sigmoid, tanh

    @inline(__always) func apply(_ v: SIMD8<Float>) -> SIMD8<Float> {
        switch self {
        case .none: return v
        case .relu: return v.replacing(with: 0, where: v .< 0)
        case .leakyRelu(let a): return v.replacing(with: v * a, where: v .< 0)
        // Two selects, as Relu's: SIMD's `clamped` checks its bounds lane by lane and does not
        // become two vector instructions.
        case .clip(let lo, let hi):
            let low = v.replacing(with: lo, where: v .< lo)
            return low.replacing(with: hi, where: low .> hi)
        case .sigmoid, .tanh:
            var r = v
            for i in 0..<8 { r[i] = apply(v[i]) }
            return r
        }
    }

    @inline(__always) func apply(_ v: Float) -> Float {
        switch self {
        case .none: return v
        case .relu: return v < 0 ? 0 : v
        case .leakyRelu(let a): return v < 0 ? v * a : v
        case .clip(let lo, let hi): return min(max(v, lo), hi)
        case .sigmoid: return 1 / (1 + Foundation.exp(-v))
        case .tanh: return Foundation.tanh(v)
        }
    }

    /// In place over `n` floats, after adding `bias` to each: one pass over a GEMM's output row.
    func apply(_ p: FloatPtr, _ n: Int, bias: Float) {
        let b = SIMD8<Float>(repeating: bias)
        var i = 0
        while i + 8 <= n {
            let r = UnsafeMutableRawPointer(p + i)
            r.storeBytes(of: apply(r.loadUnaligned(as: SIMD8<Float>.self) + b), as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { p[i] = apply(p[i] + bias); i += 1 }
    }

    /// In place over `n` floats.
    func apply(_ p: FloatPtr, _ n: Int) {
        if self == .none { return }
        var i = 0
        while i + 8 <= n {
            let r = UnsafeMutableRawPointer(p + i)
            r.storeBytes(of: apply(r.loadUnaligned(as: SIMD8<Float>.self)), as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { p[i] = apply(p[i]); i += 1 }
    }
}

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}
@inline(__always) func store8(_ v: SIMD8<Float>, _ p: FloatPtr) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// Row-major strides of a shape.
func strides(of shape: [Int]) -> [Int] {
    var s = [Int](repeating: 1, count: shape.count)
    var acc = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = acc; acc *= shape[i] }
    return s
}
