/// A value in the compiled graph: its fixed shape, and its data if it is a constant.
struct ValueSlot {
    var shape: [Int]
    var constant: [Float]?
    var count: Int { shape.reduce(1, *) }
}

/// One step of the finished plan: a kernel and the slots it reads and writes.
struct CompiledStep {
    let name: String
    let kernel: Kernel
    let inputs: [Int]
    let outputs: [Int]
}

/// A convolution between lowering and kernel selection: what the fusion rules rewrite (fold a
/// BatchNormalization into its weights, take an activation, read a Concat's inputs, compute a
/// producer's or an up-sampling's rows in its own row window). A class: a fused producer or
/// up-sampling is held by the conv that absorbed it.
final class ConvSpec {
    let g: ConvGeometry
    let transpose: Bool
    /// The ONNX weight shape: [M, C/group, kh, kw], or [C, M/group, kh, kw] for ConvTranspose.
    let weightShape: [Int]
    var weights: [Float]
    var bias: [Float]?
    var activation = Activation.none
    /// Channels per input when a channel Concat feeding this conv was absorbed.
    var segments: [Int]?
    /// The direct conv whose output rows this one computes in its own row window.
    var producer: ConvSpec?
    /// A Concat segment whose input a 2x2 up-sampling (ConvTranspose) computes row by row.
    var upsampler: (segment: Int, spec: ConvSpec)?

    init(_ g: ConvGeometry, transpose: Bool, weightShape: [Int], weights: [Float], bias: [Float]?) {
        self.g = g; self.transpose = transpose; self.weightShape = weightShape; self.weights = weights; self.bias = bias
    }

    /// Runs on the direct path (ConvKernel's register tiles), which the row-window fusions need.
    var isDirect: Bool { !transpose && !DepthwiseConvKernel.handles(g) && ConvKernel.prefersDirect(g) }
}

/// What a planned step runs: a convolution still open to fusion, or a finished kernel.
enum StepOp {
    case conv(ConvSpec)
    case kernel(Kernel)
}

struct PlannedStep {
    var name: String
    var op: StepOp
    var inputs: [Int]
    var outputs: [Int]
}

/// The lowered steps in execution order, as the fusion rules see and rewrite them.
struct StepGraph {
    var steps: [PlannedStep]
    /// Slots the caller reads (graph outputs): never fused away.
    let graphOutputs: Set<Int>

    /// The step that writes `slot`, if a step does.
    func producer(of slot: Int) -> Int? {
        steps.firstIndex { $0.outputs.contains(slot) }
    }

    /// The one step that reads `slot` when exactly one does and the caller does not.
    func soleConsumer(of slot: Int) -> Int? {
        guard !graphOutputs.contains(slot) else { return nil }
        let readers = steps.indices.filter { steps[$0].inputs.contains(slot) }
        return readers.count == 1 ? readers[0] : nil
    }

    /// The convolution of step `i`, if it is one.
    func conv(_ i: Int) -> ConvSpec? {
        if case .conv(let spec) = steps[i].op { return spec }
        return nil
    }
}

/// One rewrite of the step graph (onnxruntime's graph transformers in small): `apply` looks at
/// step `i`, and if the pattern there holds, rewrites it and returns true.
protocol FusionRule {
    static func apply(at i: Int, in graph: inout StepGraph) -> Bool
}

extension StepGraph {
    /// Each rule over every step in order, one rule after another: a rule sees the steps the
    /// rules before it left. After a rewrite the same index is looked at again (every rewrite
    /// removes a step, so this ends).
    mutating func fuse(_ rules: [any FusionRule.Type]) {
        for rule in rules {
            var i = 0
            while i < steps.count {
                if !rule.apply(at: i, in: &self) { i += 1 }
            }
        }
    }
}
