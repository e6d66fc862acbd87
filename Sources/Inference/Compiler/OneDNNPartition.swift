/// Stage 2b of `GraphCompiler`, where oneDNN runs the convolutions (KernelSet's
/// `ConvolutionBackend`): every maximal run of consecutive steps that oneDNN expresses
/// (`OneDNNOp`) and that holds a convolution becomes one `OneDNNRegionKernel` step. It comes
/// after the layout-free fusions (BatchNorm and activations, which become oneDNN post-ops) and
/// before the engine's layout fusions, which then see only the steps left to the engine.
///
/// The region is built here, not in kernel selection: whether oneDNN accepts it decides whether
/// its steps stay in the graph for the fusions after. A region oneDNN refuses keeps its steps.
enum OneDNNPartition {
    static func apply(to graph: inout StepGraph, tuneThreads: Int, shape: (Int) -> [Int]) {
        var result: [PlannedStep] = []
        var run: Range<Int> = 0..<0
        func close() {
            defer { run = run.upperBound..<run.upperBound }
            guard graph.steps[run].contains(where: { if case .conv? = $0.oneDNNOp { true } else { false } }),
                  let region = region(of: run, in: graph, tuneThreads: tuneThreads, shape: shape) else {
                result += graph.steps[run]
                return
            }
            result.append(region)
        }
        for (i, step) in graph.steps.enumerated() {
            if step.oneDNNOp != nil { run = run.lowerBound..<(i + 1) } else { close(); result.append(step); run = (i + 1)..<(i + 1) }
        }
        close()
        graph.steps = result
    }

    /// One step for `run`: it reads what the run reads from outside it, and writes what any
    /// other step or the caller reads of what the run computes.
    private static func region(of range: Range<Int>, in graph: StepGraph, tuneThreads: Int, shape: (Int) -> [Int]) -> PlannedStep? {
        let run = graph.steps[range]
        let written = Set(run.flatMap(\.outputs))
        var inputs: [Int] = []
        for slot in run.flatMap(\.inputs) where !written.contains(slot) && !inputs.contains(slot) { inputs.append(slot) }
        let outside = graph.steps.indices.filter { !range.contains($0) }
        let readOutside = Set(outside.flatMap { graph.steps[$0].inputs })
        let outputs = run.flatMap(\.outputs).filter { readOutside.contains($0) || graph.graphOutputs.contains($0) }
        let members = run.map { OneDNNRegion.Member(name: $0.name, op: $0.oneDNNOp!, inputs: $0.inputs, outputs: $0.outputs) }
        guard inputs.allSatisfy({ shape($0).count == 4 }),
              let kernel = try? OneDNNRegionKernel(members: members, inputs: inputs, outputs: outputs, shape: shape,
                                                   tuneThreads: tuneThreads) else { return nil }
        let name = run.count == 1 ? run.first!.name : "\(run.first!.name) ... \(run.last!.name)"
        return PlannedStep(name: "oneDNN[\(name)]", op: .kernel(kernel), inputs: inputs, outputs: outputs)
    }
}
