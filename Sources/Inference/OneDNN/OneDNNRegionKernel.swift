import Foundation

/// A run of steps oneDNN computes as one kernel: NCHW values in and out of the session's arena,
/// everything between in the layouts oneDNN picks, living in this kernel's scratch. One build of
/// the primitives per thread count a session asks for (`scratchFloats(threads:)` is asked for
/// every session's count when it is made); sessions that share kernels run the same builds at
/// once, each on its own scratch.
final class OneDNNRegionKernel: Kernel {
    private let members: [OneDNNRegion.Member]
    private let inputSlots: [Int], outputSlots: [Int]
    private let shapes: [Int: [Int]]
    private let tuneThreads: Int
    private var builds: [Int: Result<OneDNNRegion, Error>] = [:]   // a refusal is kept too
    private let lock = NSLock()
    let flops: Double

    /// Builds the region for one thread, its timed kernel choices weighing one thread and
    /// `tuneThreads` (the session's); throws where oneDNN refuses it (the compiler then keeps the
    /// steps for the engine's own kernels).
    init(members: [OneDNNRegion.Member], inputs: [Int], outputs: [Int], shape: (Int) -> [Int], tuneThreads: Int) throws {
        self.members = members
        self.tuneThreads = tuneThreads
        inputSlots = inputs
        outputSlots = outputs
        var shapes: [Int: [Int]] = [:]
        for slot in inputs + members.flatMap(\.outputs) { shapes[slot] = shape(slot) }
        self.shapes = shapes
        flops = members.reduce(0) { total, m in if case .conv(let spec) = m.op { total + spec.g.flops } else { total } }
        _ = try build(threads: 1)
    }

    /// oneDNN's kernel names in the one-thread build (for profiles and logs).
    var implementations: [String] { (try? build(threads: 1).implementations) ?? [] }

    private func build(threads: Int) throws -> OneDNNRegion {
        lock.lock(); defer { lock.unlock() }
        if let built = builds[threads] { return try built.get() }
        let built = Result {
            try OneDNNRegion(members: members, inputs: inputSlots, outputs: outputSlots, shape: { [shapes] in shapes[$0]! },
                             threads: threads, tuneThreads: tuneThreads)
        }
        builds[threads] = built
        return try built.get()
    }

    func scratchFloats(threads: Int) -> Int {
        let bytes = (1...max(1, threads)).compactMap { try? build(threads: $0).scratchBytes }.max() ?? 0
        return (bytes + 3) / 4
    }

    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr, parallel: Parallel) {
        // Every count up to the session's was built when its scratch was sized; a count whose
        // build oneDNN refused runs the one-thread build.
        let region = (try? build(threads: parallel.threads)) ?? (try! build(threads: 1))
        region.run(inputs, outputs, scratch: scratch)
    }
}
