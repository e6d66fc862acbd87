/// Stage 3 of `GraphCompiler`: the kernel each step runs, its weights packed once, after every
/// fusion has settled what it computes.
enum KernelSelection {
    static func kernel(for op: StepOp) -> Kernel {
        switch op {
        case .kernel(let kernel): return kernel
        case .conv(let spec):
            if spec.transpose { return transpose(spec) }
            if DepthwiseConvKernel.handles(spec.g) {
                return DepthwiseConvKernel(spec.g, weights: spec.weights, bias: spec.bias, activation: spec.activation)
            }
            return conv(spec)
        }
    }

    /// Direct tiles or im2col + GEMM, as ConvKernel chooses by shape; a fused producer and
    /// up-sampling get their kernels too.
    private static func conv(_ spec: ConvSpec) -> ConvKernel {
        ConvKernel(spec.g, weights: spec.weights, bias: spec.bias, activation: spec.activation, segments: spec.segments,
                   producer: spec.producer.map(conv), upsampler: spec.upsampler.map { ($0.segment, transpose($0.spec)) })
    }

    private static func transpose(_ spec: ConvSpec) -> ConvTransposeKernel {
        ConvTransposeKernel(spec.g, weights: spec.weights, bias: spec.bias, activation: spec.activation)
    }
}
