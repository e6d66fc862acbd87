/// Conv (or ConvTranspose) -> BatchNormalization: the normalisation's per-channel scale goes into
/// the weights and its shift into the bias; the BatchNormalization step disappears.
enum ConvBatchNormFusion: FusionRule {
    static func apply(at i: Int, in graph: inout StepGraph) -> Bool {
        guard let conv = graph.conv(i), conv.activation == .none, conv.segments == nil, conv.producer == nil,
              graph.steps[i].outputs.count == 1, let j = graph.soleConsumer(of: graph.steps[i].outputs[0]),
              case .kernel(let k) = graph.steps[j].op, let bn = k as? ChannelAffineKernel,
              bn.c == conv.g.m, bn.n == conv.g.n, bn.inner == conv.g.ho * conv.g.wo else { return false }
        let g = conv.g, w = conv.weightShape
        let perOutput = conv.weights.count / (conv.transpose ? w[0] * w[1] : g.m)
        for i in conv.weights.indices {
            let oc: Int
            if conv.transpose {
                // [C, M/group, kh, kw]: input channel ci, output channel j within ci's group.
                let ci = i / (w[1] * perOutput), j = (i / perOutput) % w[1]
                oc = (ci / (g.c / g.group)) * w[1] + j
            } else {
                oc = i / perOutput
            }
            conv.weights[i] *= bn.scale[oc]
        }
        conv.bias = (0..<g.m).map { (conv.bias?[$0] ?? 0) * bn.scale[$0] + bn.shift[$0] }
        graph.steps[i].outputs = graph.steps[j].outputs
        graph.steps.remove(at: j)
        return true
    }
}
