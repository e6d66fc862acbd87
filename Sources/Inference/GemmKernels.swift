import CBLAS

/// Gemm: Y = alpha * A' * B' + beta * C (C broadcast to [M, N]).
final class GemmKernel: Kernel {
    let m: Int, n: Int, k: Int, transA: Bool, transB: Bool, alpha: Float, beta: Float
    let cStrides: (Int, Int)?                // row/col strides of C after broadcasting
    init(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, alpha: Float, beta: Float, cShape: [Int]?) {
        self.m = m; self.n = n; self.k = k; self.transA = transA; self.transB = transB
        self.alpha = alpha; self.beta = beta
        if let s = cShape {
            let p = [Int](repeating: 1, count: 2 - s.count) + s
            cStrides = (p[0] == 1 ? 0 : p[1], p[1] == 1 ? 0 : 1)
        } else { cStrides = nil }
    }
    var flops: Double { 2 * Double(m * n * k) }

    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        let y = outputs[0]
        var betaBlas: Float = 0
        if let (rs, cs) = cStrides, inputs.count > 2 {
            let c = inputs[2]
            for i in 0..<m { for j in 0..<n { y[i * n + j] = beta * c[i * rs + j * cs] } }
            betaBlas = 1
        }
        wecare_sgemm(transA ? 1 : 0, transB ? 1 : 0,
                    Int32(m), Int32(n), Int32(k), alpha, inputs[0], Int32(transA ? m : k),
                    inputs[1], Int32(transB ? k : n), betaBlas, y, Int32(n))
    }
}

/// MatMul with numpy semantics: batch dims broadcast, [.., M, K] x [.., K, N].
final class MatMulKernel: Kernel {
    let m: Int, n: Int, k: Int
    let batchShape: [Int], aBatchStrides: [Int], bBatchStrides: [Int]

    /// Shapes already promoted to rank >= 2 (1-D inputs get a 1 inserted by the compiler).
    init(a: [Int], b: [Int], batch: [Int]) {
        m = a[a.count - 2]; k = a[a.count - 1]; n = b[b.count - 1]
        batchShape = batch
        func bs(_ s: [Int], _ matrix: Int) -> [Int] {
            let dims = [Int](repeating: 1, count: batch.count - (s.count - 2)) + s.dropLast(2)
            let st = strides(of: dims).map { $0 * matrix }
            return (0..<batch.count).map { dims[$0] == 1 ? 0 : st[$0] }
        }
        aBatchStrides = bs(a, m * k); bBatchStrides = bs(b, k * n)
    }
    var flops: Double { 2 * Double(batchShape.reduce(1, *) * m * n * k) }

    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        let batches = batchShape.reduce(1, *)
        parallel.forEach(batches) { _, bs in
            for bi in bs {
                var rem = bi, oa = 0, ob = 0
                for ax in stride(from: batchShape.count - 1, through: 0, by: -1) {
                    let i = rem % batchShape[ax]; rem /= batchShape[ax]
                    oa += i * aBatchStrides[ax]; ob += i * bBatchStrides[ax]
                }
                wecare_sgemm(0, 0, Int32(m), Int32(n), Int32(k), 1,
                            inputs[0] + oa, Int32(k), inputs[1] + ob, Int32(n), 0, outputs[0] + bi * m * n, Int32(n))
            }
        }
    }
}
