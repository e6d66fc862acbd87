/// What a planned step computes, in the terms of a oneDNN region: only what oneDNN runs in its
/// own layouts without changing the result (a step with no `OneDNNOp` stays with the engine).
enum OneDNNOp {
    case conv(ConvSpec)
    case add
    case concatChannels
    case upsampleNearest(factorH: Int, factorW: Int)
}

/// A finished kernel that says which `OneDNNOp` it computes, if any.
protocol OneDNNExpressible {
    var oneDNNOp: OneDNNOp? { get }
}

extension PlannedStep {
    var oneDNNOp: OneDNNOp? {
        switch op {
        case .conv(let spec):
            // Before the layout fusions: a conv that absorbed a Concat, a producer or an
            // up-sampling reads NCHW rows and stays with the engine.
            guard !spec.transpose, spec.g.dh == 1, spec.g.dw == 1, spec.segments == nil, spec.producer == nil,
                  spec.upsampler == nil else { return nil }
            return .conv(spec)
        case .kernel(let kernel):
            return (kernel as? OneDNNExpressible)?.oneDNNOp
        }
    }
}

extension BinaryKernel: OneDNNExpressible {
    /// An elementwise add of two 4-D values of one shape (a residual connection).
    var oneDNNOp: OneDNNOp? {
        op == .add && outShape.count == 4 && !aStrides.contains(0) && !bStrides.contains(0) ? .add : nil
    }
}

extension ConcatKernel: OneDNNExpressible {
    var oneDNNOp: OneDNNOp? { channelSegments == nil ? nil : .concatChannels }
}
