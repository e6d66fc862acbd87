/// Conv -> Relu / Clip / LeakyRelu / Sigmoid / Tanh: the activation runs in the conv's epilogue,
/// on values still in registers; the activation step disappears.
enum ConvActivationFusion: FusionRule {
    static func apply(at i: Int, in graph: inout StepGraph) -> Bool {
        guard let conv = graph.conv(i), conv.activation == .none, graph.steps[i].outputs.count == 1,
              let j = graph.soleConsumer(of: graph.steps[i].outputs[0]),
              case .kernel(let k) = graph.steps[j].op, let act = k as? ActivationKernel else { return false }
        conv.activation = act.activation
        graph.steps[i].outputs = graph.steps[j].outputs
        graph.steps.remove(at: j)
        return true
    }
}
