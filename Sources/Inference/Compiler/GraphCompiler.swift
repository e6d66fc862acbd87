import Foundation

/// Turns an ONNX graph into a list of kernels for fixed input shapes, in three stages:
///
/// 1. Folding and lowering (`compile`, Lowering.swift), node by node in graph order: constants
///    and computations on them are folded at load; every other node becomes exactly one step,
///    its output shapes inferred. Everything unsupported throws here, naming the node.
/// 2. Fusion (Fusions/, one rule a file): rewrites of the step graph, each seeing what the
///    rules before it left: BatchNormalization into its conv, the activation into its conv's
///    epilogue; then, where oneDNN runs the convolutions, each run of steps it can express
///    into one region (OneDNNPartition.swift); then the rules of the engine's NCHW kernels: a
///    channel Concat into the conv that reads it, a 2x2 up-sampling into that conv's row
///    window, a direct conv into the next one's.
/// 3. Kernel selection (KernelSelection.swift): each step's kernel, packed once.
final class GraphCompiler {
    enum Val { case const(ConstTensor), dyn(Int) }

    let graph: GraphProto
    let opset: Int
    private(set) var slots: [ValueSlot] = []
    private(set) var steps: [CompiledStep] = []
    private(set) var inputSlots: [(String, Int)] = []
    private(set) var outputSlots: [(String, Int)] = []
    var env: [String: Val] = [:]
    private var constSlotCache: [String: Int] = [:]
    /// Values some node reads, and the graph's outputs: a node's extra outputs must be neither.
    let readValues: Set<String>
    let graphOutputNames: Set<String>
    /// Stage 1's output: one step per node that was not folded.
    private var lowered: [PlannedStep] = []

    /// The fusion rules that hold in any layout, in the order they run.
    static let fusions: [any FusionRule.Type] = [ConvBatchNormFusion.self, ConvActivationFusion.self]
    /// The rules for the engine's own NCHW kernels, after the oneDNN partition (if any).
    static let layoutFusions: [any FusionRule.Type] = [
        ConcatIntoConvFusion.self, UpsamplingIntoConvFusion.self, ConvChainFusion.self,
    ]

    /// `tuneThreads`: the threads the sessions will run with, which timed kernel choices weigh.
    init(model: ONNXModel, inputShapes: [String: [Int]], tuneThreads: Int = 1) throws {
        graph = model.graph
        opset = model.opset == 0 ? 17 : model.opset
        readValues = Set(graph.nodes.flatMap(\.inputs).filter { !$0.isEmpty })
        graphOutputNames = Set(graph.outputs.map(\.name))
        for (name, t) in graph.initializers { env[name] = .const(t) }
        for input in graph.inputs where graph.initializers[input.name] == nil {
            let declared = input.dims ?? []
            let shape: [Int]
            if let given = inputShapes[input.name] {
                guard given.count == declared.count || input.dims == nil,
                      zip(given, declared).allSatisfy({ $1 == nil || $0 == $1! }) else {
                    throw InferenceError.shapeMismatch("input \"\(input.name)\" declared \(declared.map { $0.map(String.init) ?? "?" }), given \(given)")
                }
                shape = given
            } else {
                guard input.dims != nil, declared.allSatisfy({ $0 != nil }) else {
                    throw InferenceError.shapeMismatch("input \"\(input.name)\" has symbolic dims; pass its shape in inputShapes")
                }
                shape = declared.map { $0! }
            }
            guard input.elemType == 1 || input.elemType == 0 else {
                throw InferenceError.unsupported(node: "input \(input.name)", detail: "element type \(input.elemType) (only float32 inputs)")
            }
            let id = newSlot(shape)
            env[input.name] = .dyn(id)
            inputSlots.append((input.name, id))
        }
        if let extra = inputShapes.keys.first(where: { k in !inputSlots.contains { $0.0 == k } }) {
            throw InferenceError.badInput("inputShapes names \"\(extra)\", which is not a model input")
        }
        // 1. Folding and lowering.
        for (i, node) in graph.nodes.enumerated() { try compile(i, node) }
        for out in graph.outputs {
            guard let v = env[out.name] else { throw InferenceError.malformedModel("graph output \"\(out.name)\" is never produced") }
            outputSlots.append((out.name, slot(of: v, name: out.name)))
        }
        // 2. Fusion.
        var stepGraph = StepGraph(steps: lowered, graphOutputs: Set(outputSlots.map(\.1)))
        stepGraph.fuse(Self.fusions)
        if try KernelSet.active().convolutions == .oneDNN {
            OneDNNPartition.apply(to: &stepGraph, tuneThreads: tuneThreads) { [slots] in slots[$0].shape }
        }
        stepGraph.fuse(Self.layoutFusions)
        // 3. Kernel selection.
        steps = stepGraph.steps.map { CompiledStep(name: $0.name, kernel: KernelSelection.kernel(for: $0.op), inputs: $0.inputs, outputs: $0.outputs) }
    }

    private func newSlot(_ shape: [Int], constant: [Float]? = nil) -> Int {
        slots.append(ValueSlot(shape: shape, constant: constant)); return slots.count - 1
    }

    private func slot(of v: Val, name: String) -> Int {
        switch v {
        case .dyn(let id): return id
        case .const(let t):
            if let id = constSlotCache[name] { return id }
            let id = newSlot(t.shape, constant: t.asFloats)
            constSlotCache[name] = id
            return id
        }
    }

    func shape(_ v: Val) -> [Int] {
        switch v { case .dyn(let id): return slots[id].shape; case .const(let t): return t.shape }
    }

    // MARK: per node

    private func displayName(_ node: NodeProto, _ i: Int) -> String {
        node.name.isEmpty ? "\(node.opType)_\(i)" : node.name
    }

    private func compile(_ index: Int, _ node: NodeProto) throws {
        let name = displayName(node, index)
        guard node.domain.isEmpty || node.domain == "ai.onnx" else {
            throw InferenceError.unsupported(node: name, detail: "operator \(node.domain).\(node.opType)")
        }
        let attr = Attributes(node, name: name)
        var ins: [Val?] = []
        for n in node.inputs {
            if n.isEmpty { ins.append(nil); continue }
            guard let v = env[n] else {
                throw InferenceError.malformedModel("node \"\(name)\" reads \"\(n)\", which is not produced before it")
            }
            ins.append(v)
        }
        if node.opType == "Constant" {
            let t: ConstTensor
            if let v = attr.tensor("value") { t = v }
            else if attr.has("value_float") { t = ConstTensor(shape: [], floats: [attr.float("value_float", 0)]) }
            else if attr.has("value_floats") { let f = attr.floats("value_floats"); t = ConstTensor(shape: [f.count], floats: f) }
            else if attr.has("value_int") { t = ConstTensor(shape: [], ints: [Int64(attr.int("value_int", 0))]) }
            else if attr.has("value_ints") { let v = attr.ints("value_ints").map { Int64($0) }; t = ConstTensor(shape: [v.count], ints: v) }
            else { throw InferenceError.unsupported(node: name, detail: "Constant without a numeric value") }
            try attr.checkAllRead(op: "Constant")
            env[node.outputs[0]] = .const(t)
            return
        }
        // Shape of a computed value is known at load.
        if node.opType == "Shape", let x = ins.first ?? nil, case .dyn(let id) = x {
            let r = slots[id].shape.count
            func ax(_ a: Int) -> Int { max(0, min(r, a < 0 ? a + r : a)) }
            let s = ax(attr.int("start", 0)), e = ax(attr.int("end", r))
            let dims = s < e ? Array(slots[id].shape[s..<e]) : []
            try attr.checkAllRead(op: "Shape")
            env[node.outputs[0]] = .const(ConstTensor(shape: [dims.count], ints: dims.map { Int64($0) }))
            return
        }
        let allConst = ins.allSatisfy { v in if case .dyn = v { return false } else { return true } }
        if allConst && ConstantFolding.ops.contains(node.opType) {
            let vals: [ConstantFolding.Value?] = ins.map { v in
                if case .const(let t)? = v { return ConstantFolding.Value(t) } else { return nil }
            }
            let out = try ConstantFolding.fold(node, vals, attr: attr, opset: opset)
            env[node.outputs[0]] = .const(out.tensor)
            return
        }
        let step = try lower(node, name: name, ins: ins, attr: attr)
        try attr.checkAllRead(op: node.opType)
        let inputIds = step.inputs.enumerated().map { slot(of: $0.element, name: "\(name)#in\($0.offset)") }
        // Constant operands get a slot per use; reuse by initializer name where possible.
        let outIds = step.outputShapes.map { newSlot($0) }
        if allConst && !ins.isEmpty {
            // Float computation on constants: run it now and keep the result as a constant.
            let kernel = KernelSelection.kernel(for: step.op)
            var buffers = (inputIds + outIds).map { id -> [Float] in slots[id].constant ?? [Float](repeating: 0, count: slots[id].count + 64) }
            var scratch = [Float](repeating: 0, count: kernel.scratchFloats(threads: 1) + 64)
            try withPointers(&buffers) { ptrs in
                scratch.withUnsafeMutableBufferPointer { s in
                    kernel.run(Array(ptrs[..<inputIds.count]), Array(ptrs[inputIds.count...]), scratch: s.baseAddress!, parallel: Parallel(threads: 1))
                }
            }
            for (k, id) in outIds.enumerated() {
                env[step.outputNames[k]] = .const(ConstTensor(shape: slots[id].shape, floats: Array(buffers[inputIds.count + k][..<slots[id].count])))
            }
            return
        }
        lowered.append(PlannedStep(name: name, op: step.op, inputs: inputIds, outputs: outIds))
        for (k, id) in outIds.enumerated() { env[step.outputNames[k]] = .dyn(id) }
    }

    private func withPointers(_ buffers: inout [[Float]], _ body: ([FloatPtr]) throws -> Void) throws {
        var ptrs: [FloatPtr] = []
        for i in buffers.indices {
            let p = FloatPtr.allocate(capacity: buffers[i].count)
            p.initialize(from: buffers[i], count: buffers[i].count)
            ptrs.append(p)
        }
        defer { ptrs.forEach { $0.deallocate() } }
        try body(ptrs)
        for i in buffers.indices { buffers[i] = Array(UnsafeBufferPointer(start: ptrs[i], count: buffers[i].count)) }
    }
}
