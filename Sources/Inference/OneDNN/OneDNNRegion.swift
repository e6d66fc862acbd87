import COneDNN

/// One build of a region's oneDNN primitives (and their packed weights) for one thread count:
/// oneDNN fixes a primitive's work split when it is built. Only read while running.
final class OneDNNRegion {
    /// A step of the region: what it computes and the slots it reads and writes.
    struct Member {
        let name: String
        let op: OneDNNOp
        let inputs: [Int]
        let outputs: [Int]
        /// A conv's oneDNN kernel by name (tests pin Winograd F(2x2) and F(4x4) this way); nil:
        /// the fastest of direct and Winograd on this CPU for 3x3 stride-1 convs.
        var implementation: String? = nil
    }

    private let pointer: OpaquePointer
    let scratchBytes: Int
    /// oneDNN's names for the kernels it chose, in order (reorders included).
    let implementations: [String]

    /// Builds `members` reading `inputs` and leaving `outputs` (slot ids, NCHW, shapes from
    /// `shape`). Throws, naming the step, where oneDNN cannot build a primitive.
    /// `tuneThreads`: the thread count that timed kernel choices weigh besides one (the
    /// session's); builds for every thread count of a session keep the same choices.
    init(members: [Member], inputs: [Int], outputs: [Int], shape: (Int) -> [Int], threads: Int, tuneThreads: Int) throws {
        guard let r = wecare_onednn_region_create(Int32(threads), Int32(tuneThreads)) else {
            throw InferenceError.oneDNN("cannot create a region")
        }
        pointer = r
        do {
            var value: [Int: Int32] = [:]
            func check(_ v: Int32, _ what: String) throws -> Int32 {
                guard v >= 0 else { throw InferenceError.oneDNN("\(what): \(String(cString: wecare_onednn_region_error(r)))") }
                return v
            }
            for slot in inputs {
                let s = shape(slot)
                value[slot] = try check(wecare_onednn_input(r, Int32(s[0]), Int32(s[1]), Int32(s[2]), Int32(s[3])), "input")
            }
            for m in members {
                let ins = m.inputs.map { value[$0]! }
                let out: Int32
                switch m.op {
                case .conv(let spec):
                    let g = spec.g
                    let (code, alpha, beta) = Self.activationCode(spec.activation)
                    out = try spec.weights.withUnsafeBufferPointer { w in
                        try (spec.bias ?? []).withUnsafeBufferPointer { b in
                            try check(wecare_onednn_conv(r, ins[0], w.baseAddress, spec.bias == nil ? nil : b.baseAddress,
                                                         Int32(g.m), Int32(g.kh), Int32(g.kw), Int32(g.sh), Int32(g.sw),
                                                         Int32(g.padTop), Int32(g.padLeft), Int32(g.padBottom), Int32(g.padRight),
                                                         Int32(g.group), code, alpha, beta, 1, m.implementation), m.name)
                        }
                    }
                case .add:
                    out = try check(wecare_onednn_add(r, ins[0], ins[1]), m.name)
                case .concatChannels:
                    out = try check(ins.withUnsafeBufferPointer { wecare_onednn_concat_channels(r, $0.baseAddress, Int32(ins.count)) }, m.name)
                case .upsampleNearest(let fh, let fw):
                    out = try check(wecare_onednn_upsample_nearest(r, ins[0], Int32(fh), Int32(fw)), m.name)
                }
                value[m.outputs[0]] = out
            }
            for slot in outputs { _ = try check(wecare_onednn_output(r, value[slot]!), "output") }
            _ = try check(wecare_onednn_finish(r), "planning")
        } catch {
            wecare_onednn_region_free(r)
            throw error
        }
        scratchBytes = wecare_onednn_scratch_bytes(r)
        implementations = String(cString: wecare_onednn_implementations(r)).split(separator: ",").map(String.init)
    }

    deinit { wecare_onednn_region_free(pointer) }

    func run(_ inputs: [FloatPtr], _ outputs: [FloatPtr], scratch: FloatPtr) {
        var error = [CChar](repeating: 0, count: 256)
        let ins: [UnsafePointer<Float>?] = inputs.map { UnsafePointer($0) }
        let outs: [UnsafeMutablePointer<Float>?] = outputs
        let rc = wecare_onednn_run(pointer, ins, outs, scratch, &error, error.count)
        // The primitives were built for these shapes and run on planned memory: nothing in the
        // image can make them fail, so a failure is a broken installation, not bad input.
        precondition(rc == 0, "oneDNN region failed: \(String(cString: error))")
    }

    private static func activationCode(_ a: Activation) -> (Int32, Float, Float) {
        switch a {
        case .none: (Int32(WECARE_ONEDNN_NONE.rawValue), 0, 0)
        case .relu: (Int32(WECARE_ONEDNN_RELU.rawValue), 0, 0)
        case .leakyRelu(let slope): (Int32(WECARE_ONEDNN_LEAKY_RELU.rawValue), slope, 0)
        case .clip(let lo, let hi): (Int32(WECARE_ONEDNN_CLIP.rawValue), lo, hi)
        case .sigmoid: (Int32(WECARE_ONEDNN_SIGMOID.rawValue), 0, 0)
        case .tanh: (Int32(WECARE_ONEDNN_TANH.rawValue), 0, 0)
        }
    }
}
