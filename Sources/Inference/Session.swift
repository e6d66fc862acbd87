import Foundation

/// Runs one model for fixed input shapes. Buffers are planned once (liveness-based offsets in
/// one arena) and reused by every `run`. `run` is internally locked: sharing a session between
/// threads is safe but serialises; use one session per concurrent caller for throughput.
public final class InferenceSession: @unchecked Sendable {
    public let threads: Int
    /// Names and shapes, in model order.
    public let inputs: [(name: String, shape: [Int])]
    public let outputs: [(name: String, shape: [Int])]
    /// Multiply-adds x 2 of one run (Conv, ConvTranspose, Gemm, MatMul).
    public let gflop: Double
    /// Bytes of the activation arena (for reporting).
    public let arenaBytes: Int

    private let steps: [CompiledStep]
    private let slots: [ValueSlot]
    private let offsets: [Int]            // float offset of each slot in the arena (-1: unused)
    private let arena: FloatPtr
    private let arenaFloats: Int
    private let scratch: FloatPtr
    private let scratchFloats: Int
    private let inputIds: [(String, Int)]
    private let outputIds: [(String, Int)]
    private let boundInputs: [[FloatPtr]]
    private let boundOutputs: [[FloatPtr]]
    private let lock = NSLock()

    public convenience init(model: ONNXModel, inputShapes: [String: [Int]] = [:], threads: Int = 1) throws {
        guard threads >= 1 else { throw InferenceError.badInput("threads must be >= 1, got \(threads)") }
        // Chooses the kernels once per process and loads OpenBLAS with them (single-threaded:
        // our own partition does the threading).
        _ = try KernelSet.active()
        let c = try GraphCompiler(model: model, inputShapes: inputShapes, tuneThreads: threads)
        self.init(steps: c.steps, slots: c.slots, inputIds: c.inputSlots, outputIds: c.outputSlots, threads: threads)
    }

    /// A session for another concurrent caller that runs `other`'s compiled kernels (read-only
    /// while running: weights packed at compile time) with its own activations and scratch.
    /// Two workers then hold one copy of the packed weights (the gateway's resident memory with
    /// two workers: 7 MB less), and no second compile is needed.
    public convenience init(sharingKernelsOf other: InferenceSession, threads: Int = 1) throws {
        guard threads >= 1 else { throw InferenceError.badInput("threads must be >= 1, got \(threads)") }
        self.init(steps: other.steps, slots: other.slots, inputIds: other.inputIds, outputIds: other.outputIds, threads: threads)
    }

    private init(steps: [CompiledStep], slots: [ValueSlot], inputIds: [(String, Int)], outputIds: [(String, Int)], threads: Int) {
        self.threads = threads
        self.steps = steps
        self.slots = slots
        self.inputIds = inputIds
        self.outputIds = outputIds
        inputs = inputIds.map { ($0.0, slots[$0.1].shape) }
        outputs = outputIds.map { ($0.0, slots[$0.1].shape) }
        gflop = steps.reduce(0) { $0 + $1.kernel.flops } / 1e9
        let plan = MemoryPlan(slots: slots, steps: steps, inputs: inputIds.map(\.1), outputs: outputIds.map(\.1))
        offsets = plan.offsets
        arenaFloats = plan.totalFloats
        arenaBytes = arenaFloats * 4
        arena = UnsafeMutableRawPointer.allocate(byteCount: max(arenaFloats, 16) * 4, alignment: 64).bindMemory(to: Float.self, capacity: max(arenaFloats, 16))
        arena.initialize(repeating: 0, count: max(arenaFloats, 16))
        scratchFloats = steps.map { $0.kernel.scratchFloats(threads: threads) }.max() ?? 0
        scratch = UnsafeMutableRawPointer.allocate(byteCount: max(scratchFloats, 16) * 4, alignment: 64).bindMemory(to: Float.self, capacity: max(scratchFloats, 16))
        scratch.initialize(repeating: 0, count: max(scratchFloats, 16))
        for (id, slot) in slots.enumerated() where offsets[id] >= 0 {
            if let data = slot.constant { (arena + offsets[id]).update(from: data, count: data.count) }
        }
        let base = arena, offs = offsets
        boundInputs = steps.map { $0.inputs.map { base + offs[$0] } }
        boundOutputs = steps.map { $0.outputs.map { base + offs[$0] } }
    }

    deinit {
        arena.deallocate()
        scratch.deallocate()
    }

    /// Runs the model on `threads` threads. Inputs must match the planned shapes exactly.
    public func run(_ feeds: [String: Tensor]) throws -> [String: Tensor] {
        try run(feeds, threadsPerStep: { [threads] in threads })
    }

    /// Runs the model asking before each step how many threads it may use (1 up to the
    /// session's `threads`, which sized its scratch), so a run can take up cores that other
    /// work has left idle meanwhile. Every step's split is over fixed pieces, so the outputs
    /// are the same whatever the answers.
    public func run(_ feeds: [String: Tensor], threadsPerStep: () -> Int) throws -> [String: Tensor] {
        lock.lock(); defer { lock.unlock() }
        for (name, id) in inputIds {
            guard let t = feeds[name] else { throw InferenceError.badInput("missing input \"\(name)\"") }
            guard t.shape == slots[id].shape else {
                throw InferenceError.badInput("input \"\(name)\" has shape \(t.shape); this session was planned for \(slots[id].shape)")
            }
            (arena + offsets[id]).update(from: t.data, count: t.count)
        }
        if let extra = feeds.keys.first(where: { k in !inputIds.contains { $0.0 == k } }) {
            throw InferenceError.badInput("\"\(extra)\" is not a model input (inputs: \(inputIds.map(\.0)))")
        }
        for i in steps.indices {
            let parallel = Parallel(threads: min(threads, max(1, threadsPerStep())))
            steps[i].kernel.run(boundInputs[i], boundOutputs[i], scratch: scratch, parallel: parallel)
        }
        var result: [String: Tensor] = [:]
        for (name, id) in outputIds {
            let n = slots[id].count
            result[name] = Tensor(shape: slots[id].shape, data: Array(UnsafeBufferPointer(start: arena + offsets[id], count: n)))
        }
        return result
    }

    /// Per-step wall time of one run (for profiling), in milliseconds, with step names.
    public func profile(_ feeds: [String: Tensor]) throws -> [(name: String, kind: String, ms: Double, gflop: Double)] {
        _ = try run(feeds)
        lock.lock(); defer { lock.unlock() }
        let parallel = Parallel(threads: threads)
        return steps.indices.map { i in
            let t0 = DispatchTime.now().uptimeNanoseconds
            steps[i].kernel.run(boundInputs[i], boundOutputs[i], scratch: scratch, parallel: parallel)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
            return (steps[i].name, String(describing: type(of: steps[i].kernel)), ms, steps[i].kernel.flops / 1e9)
        }
    }
}

/// Offsets for every slot in one arena: constants and graph inputs/outputs live for the whole
/// run; intermediates get first-fit space that is freed after their last reader.
struct MemoryPlan {
    var offsets: [Int]
    var totalFloats = 0

    init(slots: [ValueSlot], steps: [CompiledStep], inputs: [Int], outputs: [Int]) {
        offsets = [Int](repeating: -1, count: slots.count)
        let forever = steps.count
        var first = [Int](repeating: Int.max, count: slots.count)
        var last = [Int](repeating: -1, count: slots.count)
        for (i, st) in steps.enumerated() {
            for id in st.outputs { first[id] = min(first[id], i); last[id] = max(last[id], i) }
            for id in st.inputs { first[id] = min(first[id], i); last[id] = max(last[id], i) }
        }
        for id in inputs + outputs { first[id] = -1; last[id] = forever }
        for (id, s) in slots.enumerated() where s.constant != nil && last[id] >= 0 { first[id] = -1; last[id] = forever }
        // Round each buffer up to 16 floats (64 bytes) plus a 16-float tail for vector overreads.
        func size(_ id: Int) -> Int { (slots[id].count + 31) / 16 * 16 }
        var live: [(offset: Int, size: Int, last: Int)] = []
        func place(_ id: Int, at step: Int) {
            live.removeAll { $0.last < step }
            live.sort { $0.offset < $1.offset }
            let need = size(id)
            var candidate = 0
            for blk in live {
                if blk.offset - candidate >= need { break }
                candidate = max(candidate, blk.offset + blk.size)
            }
            offsets[id] = candidate
            live.append((candidate, need, last[id]))
            totalFloats = max(totalFloats, candidate + need)
        }
        for id in slots.indices where first[id] == -1 { place(id, at: -1) }
        for (i, st) in steps.enumerated() {
            for id in st.outputs where offsets[id] < 0 { place(id, at: i) }
        }
    }
}
