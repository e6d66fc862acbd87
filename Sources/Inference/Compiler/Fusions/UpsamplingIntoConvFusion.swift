/// 2x2 stride-2 ConvTranspose (the UNet's up-sampling) -> a Concat absorbed by a direct conv
/// that streams its rows: the up-sampled rows are computed in that conv's row window as it
/// needs them (`ConvTransposeKernel.produceRow`); the up-sampled tensor is never written. One
/// segment per conv.
enum UpsamplingIntoConvFusion: FusionRule {
    static func apply(at i: Int, in graph: inout StepGraph) -> Bool {
        guard let conv = graph.conv(i), conv.segments != nil, conv.upsampler == nil, !ConvKernel.weightsOuter(conv.g) else { return false }
        for (segment, slot) in graph.steps[i].inputs.enumerated() {
            guard graph.soleConsumer(of: slot) == i, let j = graph.producer(of: slot), let up = graph.conv(j), up.transpose,
                  ConvTransposeKernel.runsDirect2x2(up.g), up.g.n == conv.g.n else { continue }
            conv.upsampler = (segment, up)
            graph.steps[i].inputs[segment] = graph.steps[j].inputs[0]
            graph.steps.remove(at: j)
            return true
        }
        return false
    }
}
