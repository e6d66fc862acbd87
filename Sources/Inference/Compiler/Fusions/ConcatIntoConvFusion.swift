/// Channel Concat -> direct conv, the Concat read by nothing else: the conv reads the Concat's
/// inputs as segments of its input channels, and the concatenated tensor is never written.
enum ConcatIntoConvFusion: FusionRule {
    static func apply(at i: Int, in graph: inout StepGraph) -> Bool {
        guard let conv = graph.conv(i), conv.isDirect, conv.segments == nil, conv.producer == nil,
              graph.steps[i].inputs.count == 1, graph.soleConsumer(of: graph.steps[i].inputs[0]) == i,
              let k = graph.producer(of: graph.steps[i].inputs[0]),
              case .kernel(let kernel) = graph.steps[k].op, let concat = kernel as? ConcatKernel,
              let segments = concat.channelSegments else { return false }
        conv.segments = segments
        graph.steps[i].inputs = graph.steps[k].inputs
        graph.steps.remove(at: k)
        return true
    }
}
