/// Direct conv -> direct conv, the first read by nothing else: the second computes the first's
/// output rows in its own row window as it needs them (`ConvKernel.streamRows`); the
/// intermediate tensor never goes to memory. Both must stream rows (weights small enough), and
/// the first must not already hold a producer of its own.
enum ConvChainFusion: FusionRule {
    static func apply(at i: Int, in graph: inout StepGraph) -> Bool {
        guard let conv = graph.conv(i), conv.isDirect, !ConvKernel.weightsOuter(conv.g), conv.segments == nil,
              conv.producer == nil, graph.steps[i].inputs.count == 1,
              graph.soleConsumer(of: graph.steps[i].inputs[0]) == i,
              let k = graph.producer(of: graph.steps[i].inputs[0]), let first = graph.conv(k), first.isDirect,
              !ConvKernel.weightsOuter(first.g), first.producer == nil,
              first.g.n == conv.g.n, first.g.m == conv.g.c, first.g.ho == conv.g.h, first.g.wo == conv.g.w else { return false }
        conv.producer = first
        graph.steps[i].inputs = graph.steps[k].inputs
        graph.steps.remove(at: k)
        return true
    }
}
