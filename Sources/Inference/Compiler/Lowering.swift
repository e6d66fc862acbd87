import Foundation

/// Stage 1 of `GraphCompiler`: one node into one step. A convolution becomes a `ConvSpec` (the
/// fusion rules may still rewrite it); everything else its kernel. Shapes are inferred here, and
/// every node this engine cannot run is refused here, by name.
extension GraphCompiler {

    struct Lowered {
        var op: StepOp
        var inputs: [Val]
        var outputShapes: [[Int]]
        var outputNames: [String]
    }

    func unsupported(_ name: String, _ detail: String) -> InferenceError {
        .unsupported(node: name, detail: detail)
    }

    func requireConst(_ v: Val?, _ name: String, _ what: String) throws -> ConstTensor {
        guard let v = v, case .const(let t) = v else { throw unsupported(name, "\(what) that is not a constant") }
        return t
    }

    /// BatchNormalization (inference) as a per-channel y = scale * x + shift (ConvBatchNormFusion
    /// multiplies it into a conv's weights and bias).
    func batchNormAffine(_ bn: NodeProto, name: String, _ attr: Attributes, channels: Int) throws -> (scale: [Float], shift: [Float]) {
        guard attr.int("training_mode", 0) == 0 else { throw unsupported(name, "BatchNormalization training_mode=1") }
        _ = attr.float("momentum", 0.9); _ = attr.int("spatial", 1)
        let eps = attr.float("epsilon", 1e-5)
        let p = try (1...4).map { i in
            try requireConst(i < bn.inputs.count && !bn.inputs[i].isEmpty ? env[bn.inputs[i]] : nil, name,
                             "BatchNormalization parameter \(i)").asFloats
        }
        guard p.allSatisfy({ $0.count == channels }) else {
            throw InferenceError.shapeMismatch("node \"\(name)\": BatchNormalization parameters do not match \(channels) channels")
        }
        let scale = (0..<channels).map { p[0][$0] / (p[3][$0] + eps).squareRoot() }
        return (scale, (0..<channels).map { p[1][$0] - p[2][$0] * scale[$0] })
    }

    /// The pointwise activation a node computes (nil: the node is not one; ConvActivationFusion
    /// moves it into a conv's epilogue).
    func activation(_ n: NodeProto, name: String, _ attr: Attributes) throws -> Activation? {
        switch n.opType {
        case "Relu": return .relu
        case "Sigmoid": return .sigmoid
        case "Tanh": return .tanh
        case "LeakyRelu": return .leakyRelu(attr.float("alpha", 0.01))
        case "Clip":
            if opset < 11 { return .clip(attr.float("min", -.greatestFiniteMagnitude), attr.float("max", .greatestFiniteMagnitude)) }
            func bound(_ i: Int, _ what: String, _ d: Float) throws -> Float {
                guard i < n.inputs.count, !n.inputs[i].isEmpty else { return d }
                let t = try requireConst(env[n.inputs[i]], name, "Clip \(what)")
                guard t.count == 1 else { throw unsupported(name, "Clip \(what) of \(t.count) values") }
                return t.asFloats[0]
            }
            return .clip(try bound(1, "min", -.greatestFiniteMagnitude), try bound(2, "max", .greatestFiniteMagnitude))
        default: return nil
        }
    }

    /// Resolves Conv/Pool padding for one spatial axis. Returns (begin, end, outLength).
    func spatial(_ name: String, autoPad: String, len: Int, k: Int, s: Int, d: Int,
                         padBegin: Int, padEnd: Int, ceilMode: Bool = false) throws -> (Int, Int, Int) {
        let ek = (k - 1) * d + 1
        switch autoPad {
        case "NOTSET":
            let span = len + padBegin + padEnd - ek
            guard span >= 0 else { throw InferenceError.shapeMismatch("node \"\(name)\": kernel \(k) larger than padded input \(len)") }
            var out = (ceilMode ? (span + s - 1) / s : span / s) + 1
            if ceilMode && (out - 1) * s >= len + padBegin { out -= 1 }
            return (padBegin, padEnd, out)
        case "VALID":
            guard len >= ek else { throw InferenceError.shapeMismatch("node \"\(name)\": kernel \(k) larger than input \(len)") }
            return (0, 0, (len - ek) / s + 1)
        case "SAME_UPPER", "SAME_LOWER":
            let out = (len + s - 1) / s
            let total = max(0, (out - 1) * s + ek - len)
            let small = total / 2
            return autoPad == "SAME_UPPER" ? (small, total - small, out) : (total - small, small, out)
        default:
            throw unsupported(name, "auto_pad=\(autoPad)")
        }
    }

    func lower(_ node: NodeProto, name: String, ins: [Val?], attr: Attributes) throws -> Lowered {
        func input(_ i: Int) throws -> Val {
            guard i < ins.count, let v = ins[i] else { throw unsupported(name, "\(node.opType) without input \(i)") }
            return v
        }
        func single(_ k: Kernel, _ inputs: [Val], _ shape: [Int]) -> Lowered {
            Lowered(op: .kernel(k), inputs: inputs, outputShapes: [shape], outputNames: [node.outputs[0]])
        }
        let liveOutputs = node.outputs.filter { !$0.isEmpty }
        let multiOutputOK = ["Dropout", "MaxPool", "BatchNormalization"].contains(node.opType)
        if liveOutputs.count > 1 || (node.outputs.count > 1 && !multiOutputOK) {
            // Extra outputs are refused unless unused (MaxPool Indices, Dropout mask).
            let extraUsed = node.outputs.dropFirst().contains { !$0.isEmpty && (readValues.contains($0) || graphOutputNames.contains($0)) }
            if extraUsed || !multiOutputOK { throw unsupported(name, "\(node.opType) with \(node.outputs.count) outputs") }
        }

        switch node.opType {
        case "Conv", "ConvTranspose":
            return try lowerConv(node, name: name, ins: ins, attr: attr, transpose: node.opType == "ConvTranspose")

        case "MaxPool", "AveragePool":
            let x = try input(0), s = shape(x)
            guard s.count == 4 else { throw unsupported(name, "\(node.opType) on rank-\(s.count) input (only 2-D pooling)") }
            let k = attr.ints("kernel_shape")
            guard k.count == 2 else { throw unsupported(name, "\(node.opType) kernel_shape \(k)") }
            let st = attr.has("strides") ? attr.ints("strides") : [1, 1]
            let dl = attr.has("dilations") ? attr.ints("dilations") : [1, 1]
            let pads = attr.has("pads") ? attr.ints("pads") : [0, 0, 0, 0]
            let autoPad = attr.string("auto_pad", "NOTSET"), ceil = attr.int("ceil_mode", 0) != 0
            var kind = PoolKernel.Kind.max
            if node.opType == "MaxPool" {
                guard attr.int("storage_order", 0) == 0 else { throw unsupported(name, "MaxPool storage_order=1") }
            } else {
                kind = .average(countIncludePad: attr.int("count_include_pad", 0) != 0)
            }
            let (pt, pb, ho) = try spatial(name, autoPad: autoPad, len: s[2], k: k[0], s: st[0], d: dl[0], padBegin: pads[0], padEnd: pads[2], ceilMode: ceil)
            let (pl, pr, wo) = try spatial(name, autoPad: autoPad, len: s[3], k: k[1], s: st[1], d: dl[1], padBegin: pads[1], padEnd: pads[3], ceilMode: ceil)
            let g = ConvGeometry(n: s[0], c: s[1], h: s[2], w: s[3], m: s[1], ho: ho, wo: wo, kh: k[0], kw: k[1], sh: st[0], sw: st[1],
                                 dh: dl[0], dw: dl[1], padTop: pt, padLeft: pl, padBottom: pb, padRight: pr, group: 1)
            return single(PoolKernel(kind: kind, g), [x], [s[0], s[1], ho, wo])

        case "GlobalAveragePool":
            let x = try input(0), s = shape(x)
            guard s.count >= 3 else { throw unsupported(name, "GlobalAveragePool on rank-\(s.count) input") }
            return single(GlobalAveragePoolKernel(planes: s[0] * s[1], size: s[2...].reduce(1, *)), [x],
                          [s[0], s[1]] + [Int](repeating: 1, count: s.count - 2))

        case "Relu", "Sigmoid", "Tanh", "LeakyRelu", "Clip":
            let x = try input(0), s = shape(x)
            let act = try activation(node, name: name, attr)!
            return single(ActivationKernel(count: s.reduce(1, *), activation: act), [x], s)

        case "Identity", "Dropout":
            let x = try input(0)
            if node.opType == "Dropout" { _ = attr.float("ratio", 0.5); _ = attr.int("seed", 0) }
            return single(CopyKernel(count: shape(x).reduce(1, *)), [x], shape(x))

        case "Cast":
            let x = try input(0)
            guard attr.int("to", 1) == 1 else { throw unsupported(name, "Cast of a computed value to type \(attr.int("to", 1)) (only float)") }
            _ = attr.int("saturate", 1)
            return single(CopyKernel(count: shape(x).reduce(1, *)), [x], shape(x))

        case "Flatten":
            let x = try input(0), s = shape(x)
            var ax = attr.int("axis", 1); if ax < 0 { ax += s.count }
            return single(CopyKernel(count: s.reduce(1, *)), [x], [s[..<ax].reduce(1, *), s[ax...].reduce(1, *)])

        case "Reshape":
            let x = try input(0)
            let target = try requireConst(ins.count > 1 ? ins[1] : nil, name, "Reshape shape").asInts.map { Int($0) }
            let out = try Shapes.reshape(shape(x), target, allowZero: attr.int("allowzero", 0) != 0, node: name)
            return single(CopyKernel(count: out.reduce(1, *)), [x], out)

        case "Squeeze", "Unsqueeze":
            let x = try input(0), s = shape(x)
            let axes: [Int] = opset >= 13 ? (ins.count > 1 && ins[1] != nil ? try requireConst(ins[1], name, "\(node.opType) axes").asInts.map { Int($0) } : [])
                                          : attr.ints("axes")
            var out = s
            if node.opType == "Unsqueeze" {
                let r = s.count + axes.count
                for a in axes.map({ $0 < 0 ? $0 + r : $0 }).sorted() { out.insert(1, at: a) }
            } else {
                let drop = axes.isEmpty ? Set(s.indices.filter { s[$0] == 1 }) : Set(axes.map { $0 < 0 ? $0 + s.count : $0 })
                guard drop.allSatisfy({ s[$0] == 1 }) else { throw InferenceError.shapeMismatch("node \"\(name)\": Squeeze of a non-1 axis in \(s)") }
                out = s.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
            }
            return single(CopyKernel(count: s.reduce(1, *)), [x], out)

        case "Transpose":
            let x = try input(0), s = shape(x)
            let perm = attr.has("perm") ? attr.ints("perm") : Array((0..<s.count).reversed())
            guard perm.sorted() == Array(0..<s.count) else { throw unsupported(name, "Transpose perm \(perm)") }
            return single(TransposeKernel(inShape: s, perm: perm), [x], perm.map { s[$0] })

        case "Concat":
            let xs = try (0..<ins.count).map { try input($0) }
            let s0 = shape(xs[0]), r = s0.count
            var ax = attr.int("axis", Int.min)
            guard ax != Int.min else { throw unsupported(name, "Concat without axis") }
            if ax < 0 { ax += r }
            var out = s0; out[ax] = 0
            for x in xs {
                let s = shape(x)
                guard s.count == r, (0..<r).allSatisfy({ $0 == ax || s[$0] == s0[$0] }) else {
                    throw InferenceError.shapeMismatch("node \"\(name)\": Concat of \(xs.map(shape)) on axis \(ax)")
                }
                out[ax] += s[ax]
            }
            let segments = r == 4 && ax == 1 ? xs.map { shape($0)[1] } : nil
            return single(ConcatKernel(outer: s0[..<ax].reduce(1, *), blocks: xs.map { shape($0)[ax...].reduce(1, *) },
                                       channelSegments: segments), xs, out)

        case "Add", "Sub", "Mul", "Div":
            let a = try input(0), b = try input(1)
            guard let out = ConstantFolding.broadcast(shape(a), shape(b)) else {
                throw InferenceError.shapeMismatch("node \"\(name)\": cannot broadcast \(shape(a)) with \(shape(b))")
            }
            let op: BinaryKernel.Op = ["Add": .add, "Sub": .sub, "Mul": .mul, "Div": .div][node.opType]!
            return single(BinaryKernel(op: op, a: shape(a), b: shape(b), out: out), [a, b], out)

        case "BatchNormalization":
            let x = try input(0), s = shape(x)
            guard s.count >= 2 else { throw InferenceError.shapeMismatch("node \"\(name)\": BatchNormalization on \(s)") }
            let (scale, shift) = try batchNormAffine(node, name: name, attr, channels: s[1])
            return single(ChannelAffineKernel(n: s[0], c: s[1], inner: s[2...].reduce(1, *), scale: scale, shift: shift), [x], s)

        case "Gemm":
            let a = try input(0), b = try input(1)
            let sa = shape(a), sb = shape(b)
            guard sa.count == 2, sb.count == 2 else { throw unsupported(name, "Gemm on shapes \(sa) x \(sb) (needs 2-D)") }
            let ta = attr.int("transA", 0) != 0, tb = attr.int("transB", 0) != 0
            let m = ta ? sa[1] : sa[0], k = ta ? sa[0] : sa[1]
            let kb = tb ? sb[1] : sb[0], n = tb ? sb[0] : sb[1]
            guard k == kb else { throw InferenceError.shapeMismatch("node \"\(name)\": Gemm inner dims \(k) vs \(kb)") }
            var inputs = [a, b]
            var cShape: [Int]?
            if ins.count > 2, let c = ins[2] {
                guard let bc = ConstantFolding.broadcast(shape(c), [m, n]), bc == [m, n], shape(c).count <= 2 else {
                    throw InferenceError.shapeMismatch("node \"\(name)\": Gemm C \(shape(c)) does not broadcast to [\(m), \(n)]")
                }
                inputs.append(c); cShape = shape(c)
            }
            let kernel = GemmKernel(m: m, n: n, k: k, transA: ta, transB: tb, alpha: attr.float("alpha", 1),
                                    beta: attr.float("beta", 1), cShape: cShape)
            return single(kernel, inputs, [m, n])

        case "MatMul":
            let a = try input(0), b = try input(1)
            let sa = shape(a), sb = shape(b)
            guard sa.count >= 2, sb.count >= 2 else { throw unsupported(name, "MatMul on 1-D operand (\(sa) x \(sb))") }
            guard sa[sa.count - 1] == sb[sb.count - 2],
                  let batch = ConstantFolding.broadcast(Array(sa.dropLast(2)), Array(sb.dropLast(2))) else {
                throw InferenceError.shapeMismatch("node \"\(name)\": MatMul \(sa) x \(sb)")
            }
            return single(MatMulKernel(a: sa, b: sb, batch: batch), [a, b], batch + [sa[sa.count - 2], sb[sb.count - 1]])

        case "Softmax":
            let x = try input(0), s = shape(x)
            var ax = attr.int("axis", opset >= 13 ? -1 : 1); if ax < 0 { ax += s.count }
            let outer = s[..<ax].reduce(1, *)
            let kernel = opset >= 13 ? SoftmaxKernel(outer: outer, axis: s[ax], inner: s[(ax + 1)...].reduce(1, *))
                                     : SoftmaxKernel(outer: outer, axis: s[ax...].reduce(1, *), inner: 1)
            return single(kernel, [x], s)

        case "ReduceMean":
            let x = try input(0), s = shape(x)
            var axes: [Int]
            if opset >= 18 {
                axes = ins.count > 1 && ins[1] != nil ? try requireConst(ins[1], name, "ReduceMean axes").asInts.map { Int($0) } : []
                if axes.isEmpty && attr.int("noop_with_empty_axes", 0) != 0 {
                    return single(CopyKernel(count: s.reduce(1, *)), [x], s)
                }
            } else { axes = attr.ints("axes") }
            if axes.isEmpty { axes = Array(0..<s.count) }
            let set = Set(axes.map { $0 < 0 ? $0 + s.count : $0 })
            let keep = attr.int("keepdims", 1) != 0
            let out = keep ? s.enumerated().map { set.contains($0.offset) ? 1 : $0.element }
                           : s.enumerated().filter { !set.contains($0.offset) }.map(\.element)
            return single(ReduceMeanKernel(inShape: s, axes: set), [x], out)

        case "Resize", "Upsample":
            return try lowerResize(node, name: name, ins: ins, attr: attr)

        default:
            throw unsupported(name, "operator \(node.opType)")
        }
    }

    func lowerConv(_ node: NodeProto, name: String, ins: [Val?], attr: Attributes, transpose: Bool) throws -> Lowered {
        guard let xv = ins.first ?? nil else { throw unsupported(name, "\(node.opType) without input") }
        let s = shape(xv)
        guard s.count == 4 else { throw unsupported(name, "\(node.opType) on rank-\(s.count) input (only 2-D convolution)") }
        let wt = try requireConst(ins.count > 1 ? ins[1] : nil, name, "\(node.opType) weights")
        guard wt.shape.count == 4 else { throw unsupported(name, "\(node.opType) weights of shape \(wt.shape)") }
        let bias = ins.count > 2 && ins[2] != nil ? try requireConst(ins[2], name, "\(node.opType) bias").asFloats : nil
        let group = attr.int("group", 1)
        let kernelShape = attr.has("kernel_shape") ? attr.ints("kernel_shape") : [wt.shape[2], wt.shape[3]]
        guard kernelShape == [wt.shape[2], wt.shape[3]] else { throw unsupported(name, "\(node.opType) kernel_shape \(kernelShape) vs weights \(wt.shape)") }
        let st = attr.has("strides") ? attr.ints("strides") : [1, 1]
        let dl = attr.has("dilations") ? attr.ints("dilations") : [1, 1]
        let pads = attr.has("pads") ? attr.ints("pads") : [0, 0, 0, 0]
        let autoPad = attr.string("auto_pad", "NOTSET")
        guard st.count == 2, dl.count == 2, pads.count == 4, group >= 1 else { throw unsupported(name, "\(node.opType) strides/dilations/pads of wrong length") }
        let kh = wt.shape[2], kw = wt.shape[3]
        let m: Int, ho: Int, wo: Int, pt: Int, pl: Int, pb: Int, pr: Int
        if transpose {
            guard autoPad == "NOTSET" else { throw unsupported(name, "ConvTranspose with auto_pad=\(autoPad)") }
            guard !attr.has("output_shape") else { throw unsupported(name, "ConvTranspose with output_shape") }
            let op = attr.has("output_padding") ? attr.ints("output_padding") : [0, 0]
            guard wt.shape[0] == s[1], s[1] % group == 0 else {
                throw InferenceError.shapeMismatch("node \"\(name)\": ConvTranspose weights \(wt.shape) for input \(s) group \(group)")
            }
            m = wt.shape[1] * group
            (pt, pl, pb, pr) = (pads[0], pads[1], pads[2], pads[3])
            ho = st[0] * (s[2] - 1) + op[0] + (kh - 1) * dl[0] + 1 - pt - pb
            wo = st[1] * (s[3] - 1) + op[1] + (kw - 1) * dl[1] + 1 - pl - pr
            guard ho > 0, wo > 0 else { throw InferenceError.shapeMismatch("node \"\(name)\": ConvTranspose output \(ho)x\(wo)") }
        } else {
            guard s[1] == wt.shape[1] * group, wt.shape[0] % group == 0 else {
                throw InferenceError.shapeMismatch("node \"\(name)\": Conv weights \(wt.shape) for input \(s) group \(group)")
            }
            m = wt.shape[0]
            let y = try spatial(name, autoPad: autoPad, len: s[2], k: kh, s: st[0], d: dl[0], padBegin: pads[0], padEnd: pads[2])
            let x = try spatial(name, autoPad: autoPad, len: s[3], k: kw, s: st[1], d: dl[1], padBegin: pads[1], padEnd: pads[3])
            (pt, pb, ho) = y; (pl, pr, wo) = x
        }
        if let b = bias, b.count != m { throw InferenceError.shapeMismatch("node \"\(name)\": bias of \(b.count) for \(m) channels") }
        let g = ConvGeometry(n: s[0], c: s[1], h: s[2], w: s[3], m: m, ho: ho, wo: wo, kh: kh, kw: kw, sh: st[0], sw: st[1],
                             dh: dl[0], dw: dl[1], padTop: pt, padLeft: pl, padBottom: pb, padRight: pr, group: group)
        let spec = ConvSpec(g, transpose: transpose, weightShape: wt.shape, weights: wt.asFloats, bias: bias)
        return Lowered(op: .conv(spec), inputs: [xv], outputShapes: [[s[0], m, ho, wo]], outputNames: [node.outputs[0]])
    }

    func lowerResize(_ node: NodeProto, name: String, ins: [Val?], attr: Attributes) throws -> Lowered {
        guard let xv = ins.first ?? nil else { throw unsupported(name, "Resize without input") }
        let s = shape(xv)
        guard s.count == 4 else { throw unsupported(name, "\(node.opType) on rank-\(s.count) input (only NCHW)") }
        let mode = attr.string("mode", "nearest")
        let ctm = node.opType == "Upsample" || opset < 11 ? "asymmetric" : attr.string("coordinate_transformation_mode", "half_pixel")
        let nearestMode = attr.string("nearest_mode", "round_prefer_floor")
        _ = attr.float("cubic_coeff_a", -0.75); _ = attr.float("extrapolation_value", 0)
        guard attr.int("exclude_outside", 0) == 0 else { throw unsupported(name, "Resize exclude_outside=1") }
        guard attr.int("antialias", 0) == 0 else { throw unsupported(name, "Resize antialias=1") }
        guard !attr.has("axes") else { throw unsupported(name, "Resize with axes") }
        guard attr.string("keep_aspect_ratio_policy", "stretch") == "stretch" else { throw unsupported(name, "Resize keep_aspect_ratio_policy") }
        let scalesIndex = node.opType == "Upsample" || opset < 11 ? 1 : 2
        var scales: [Float] = []
        if ins.count > scalesIndex, let sv = ins[scalesIndex] { scales = try requireConst(sv, name, "Resize scales").asFloats }
        if scales.isEmpty && node.opType == "Upsample" { scales = attr.floats("scales") }
        var outShape: [Int]
        if !scales.isEmpty {
            guard scales.count == 4 else { throw unsupported(name, "Resize scales \(scales)") }
            outShape = (0..<4).map { Int((Float(s[$0]) * scales[$0]).rounded(.down)) }
        } else if ins.count > 3, let sz = ins[3] {
            outShape = try requireConst(sz, name, "Resize sizes").asInts.map { Int($0) }
            guard outShape.count == 4 else { throw unsupported(name, "Resize sizes \(outShape)") }
            scales = (0..<4).map { Float(outShape[$0]) / Float(s[$0]) }
        } else { throw unsupported(name, "Resize without scales or sizes") }
        guard outShape[0] == s[0], outShape[1] == s[1] else { throw unsupported(name, "Resize of the batch/channel axes") }
        let kmode: ResizeKernel.Mode
        switch mode {
        case "nearest": kmode = .nearest
        case "linear", "bilinear": kmode = .linear
        default: throw unsupported(name, "Resize mode=\(mode)")
        }
        let transform: (Int, Float, Int, Int) -> Float
        switch ctm {
        case "half_pixel": transform = { o, sc, _, _ in (Float(o) + 0.5) / sc - 0.5 }
        case "pytorch_half_pixel": transform = { o, sc, _, outLen in outLen > 1 ? (Float(o) + 0.5) / sc - 0.5 : 0 }
        case "align_corners": transform = { o, _, inLen, outLen in outLen == 1 ? 0 : Float(o) * Float(inLen - 1) / Float(outLen - 1) }
        case "asymmetric": transform = { o, sc, _, _ in Float(o) / sc }
        case "tf_half_pixel_for_nearest": transform = { o, sc, _, _ in (Float(o) + 0.5) / sc }
        default: throw unsupported(name, "Resize coordinate_transformation_mode=\(ctm)")
        }
        let nearest: (Float) -> Int
        switch nearestMode {
        case "round_prefer_floor": nearest = { c in c - c.rounded(.down) == 0.5 ? Int(c.rounded(.down)) : Int(c.rounded()) }
        case "round_prefer_ceil": nearest = { c in Int(c.rounded(.toNearestOrAwayFromZero)) }
        case "floor": nearest = { c in Int(c.rounded(.down)) }
        case "ceil": nearest = { c in Int(c.rounded(.up)) }
        default: throw unsupported(name, "Resize nearest_mode=\(nearestMode)")
        }
        let kernel = ResizeKernel(planes: s[0] * s[1], h: s[2], w: s[3], ho: outShape[2], wo: outShape[3],
                                  scaleH: scales[2], scaleW: scales[3], mode: kmode, transform: transform, nearest: nearest)
        return Lowered(op: .kernel(kernel), inputs: [xv], outputShapes: [outShape], outputNames: [node.outputs[0]])
    }
}
