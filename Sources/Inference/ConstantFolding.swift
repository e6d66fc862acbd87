/// Load-time evaluation of shape-arithmetic operators on constants (Shape, Gather, Unsqueeze,
/// Concat, Cast, ...). Values travel as Double so int64 shape math and float math share code.
enum ConstantFolding {
    static let ops: Set<String> = ["Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Reshape",
                                   "Flatten", "Slice", "Add", "Sub", "Mul", "Div", "ConstantOfShape", "Identity",
                                   "Range", "Size", "Neg", "Floor", "Ceil", "Sqrt", "Equal", "Where", "Expand", "Transpose"]

    struct Value {
        var shape: [Int]
        var data: [Double]
        var isFloat: Bool
        init(_ t: ConstTensor) { shape = t.shape; isFloat = t.isFloat; data = t.floats?.map(Double.init) ?? t.ints!.map(Double.init) }
        init(shape: [Int], data: [Double], isFloat: Bool) { self.shape = shape; self.data = data; self.isFloat = isFloat }
        var tensor: ConstTensor {
            isFloat ? ConstTensor(shape: shape, floats: data.map { Float($0) })
                    : ConstTensor(shape: shape, ints: data.map { $0 >= 9.2e18 ? Int64.max : ($0 <= -9.2e18 ? Int64.min : Int64($0)) })
        }
        var ints: [Int] { data.map { $0 >= 9.2e18 ? Int.max : ($0 <= -9.2e18 ? Int.min : Int($0)) } }
    }

    static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let r = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: r - a.count) + a, pb = [Int](repeating: 1, count: r - b.count) + b
        var out = [Int]()
        for i in 0..<r {
            if pa[i] == pb[i] || pb[i] == 1 { out.append(pa[i]) } else if pa[i] == 1 { out.append(pb[i]) } else { return nil }
        }
        return out
    }

    /// Index into a broadcast operand for flat output index i.
    static func gatherBroadcast(_ v: Value, _ out: [Int]) -> [Double] {
        let padded = [Int](repeating: 1, count: out.count - v.shape.count) + v.shape
        let st = strides(of: padded), count = out.reduce(1, *)
        var result = [Double](repeating: 0, count: count)
        for i in 0..<count {
            var rem = i, off = 0
            for ax in stride(from: out.count - 1, through: 0, by: -1) {
                let idx = rem % out[ax]; rem /= out[ax]
                if padded[ax] != 1 { off += idx * st[ax] }
            }
            result[i] = v.data[off]
        }
        return result
    }

    /// Evaluates `node` on constant inputs. Throws `unsupported` for variants it cannot do.
    static func fold(_ node: NodeProto, _ inputs: [Value?], attr: Attributes, opset: Int) throws -> Value {
        func fail(_ what: String) -> InferenceError { .unsupported(node: attr.nodeName, detail: "\(node.opType) \(what) on constants") }
        func input(_ i: Int) throws -> Value {
            guard i < inputs.count, let v = inputs[i] else { throw fail("without input \(i)") }
            return v
        }
        func axis(_ a: Int, _ rank: Int) -> Int { a < 0 ? a + rank : a }
        switch node.opType {
        case "Identity": return try input(0)
        case "Shape", "Size":
            let x = try input(0)
            if node.opType == "Size" { return Value(shape: [], data: [Double(x.shape.reduce(1, *))], isFloat: false) }
            let r = x.shape.count
            let s = max(0, min(r, axis(attr.int("start", 0), r))), e = max(0, min(r, axis(attr.int("end", r), r)))
            let dims = s < e ? Array(x.shape[s..<e]) : []
            return Value(shape: [dims.count], data: dims.map(Double.init), isFloat: false)
        case "Cast":
            var x = try input(0)
            let to = attr.int("to", 1)
            x.isFloat = [1, 10, 11, 16].contains(to)
            if !x.isFloat { x.data = x.data.map { $0.rounded(.towardZero) } }
            return x
        case "Neg": var x = try input(0); x.data = x.data.map { -$0 }; return x
        case "Floor": var x = try input(0); x.data = x.data.map { $0.rounded(.down) }; return x
        case "Ceil": var x = try input(0); x.data = x.data.map { $0.rounded(.up) }; return x
        case "Sqrt": var x = try input(0); x.data = x.data.map { $0.squareRoot() }; return x
        case "Add", "Sub", "Mul", "Div", "Equal":
            let a = try input(0), b = try input(1)
            guard let out = broadcast(a.shape, b.shape) else { throw fail("with shapes \(a.shape) and \(b.shape)") }
            let da = gatherBroadcast(a, out), db = gatherBroadcast(b, out)
            let isFloat = a.isFloat || b.isFloat
            let data: [Double] = zip(da, db).map { x, y in
                switch node.opType {
                case "Add": return x + y
                case "Sub": return x - y
                case "Mul": return x * y
                case "Equal": return x == y ? 1 : 0
                default: return isFloat ? x / y : (x / y).rounded(.down)
                }
            }
            return Value(shape: out, data: data, isFloat: node.opType == "Equal" ? false : isFloat)
        case "Where":
            let c = try input(0), a = try input(1), b = try input(2)
            guard let o1 = broadcast(c.shape, a.shape), let out = broadcast(o1, b.shape) else { throw fail("with unbroadcastable shapes") }
            let dc = gatherBroadcast(c, out), da = gatherBroadcast(a, out), db = gatherBroadcast(b, out)
            return Value(shape: out, data: (0..<dc.count).map { dc[$0] != 0 ? da[$0] : db[$0] }, isFloat: a.isFloat)
        case "Gather":
            let x = try input(0), idx = try input(1)
            let r = x.shape.count, ax = axis(attr.int("axis", 0), r)
            guard ax >= 0, ax < r else { throw fail("with axis out of range") }
            let outer = x.shape[..<ax].reduce(1, *), inner = x.shape[(ax + 1)...].reduce(1, *), len = x.shape[ax]
            var data = [Double]()
            for o in 0..<outer { for i in idx.ints {
                let j = i < 0 ? i + len : i
                guard j >= 0, j < len else { throw fail("with index \(i) out of range") }
                data += x.data[((o * len + j) * inner)..<((o * len + j + 1) * inner)]
            } }
            return Value(shape: Array(x.shape[..<ax]) + idx.shape + Array(x.shape[(ax + 1)...]), data: data, isFloat: x.isFloat)
        case "Unsqueeze":
            var x = try input(0)
            let axes = opset >= 13 ? try input(1).ints : attr.ints("axes")
            let r = x.shape.count + axes.count
            for a in axes.map({ axis($0, r) }).sorted() { x.shape.insert(1, at: a) }
            return x
        case "Squeeze":
            var x = try input(0)
            let axes = opset >= 13 ? (inputs.count > 1 && inputs[1] != nil ? try input(1).ints : []) : attr.ints("axes")
            let r = x.shape.count
            let drop = axes.isEmpty ? Set(x.shape.indices.filter { x.shape[$0] == 1 }) : Set(axes.map { axis($0, r) })
            x.shape = x.shape.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
            return x
        case "Concat":
            let vals = try (0..<inputs.count).map { try input($0) }
            let r = vals[0].shape.count, ax = axis(attr.int("axis", 0), r)
            let outer = vals[0].shape[..<ax].reduce(1, *)
            var data = [Double](), shape = vals[0].shape
            shape[ax] = vals.map { $0.shape[ax] }.reduce(0, +)
            for o in 0..<outer { for v in vals {
                let blk = v.shape[ax...].reduce(1, *)
                data += v.data[(o * blk)..<((o + 1) * blk)]
            } }
            return Value(shape: shape, data: data, isFloat: vals[0].isFloat)
        case "Reshape":
            var x = try input(0)
            x.shape = try Shapes.reshape(x.shape, try input(1).ints, allowZero: attr.int("allowzero", 0) != 0, node: attr.nodeName)
            return x
        case "Flatten":
            var x = try input(0)
            let ax = axis(attr.int("axis", 1), x.shape.count)
            x.shape = [x.shape[..<ax].reduce(1, *), x.shape[ax...].reduce(1, *)]
            return x
        case "Transpose":
            let x = try input(0)
            let perm = attr.has("perm") ? attr.ints("perm") : Array((0..<x.shape.count).reversed())
            let out = perm.map { x.shape[$0] }, st = strides(of: x.shape), ost = strides(of: out)
            var data = [Double](repeating: 0, count: x.data.count)
            for i in 0..<data.count {
                var rem = i, off = 0
                for ax in 0..<out.count { let idx = rem / ost[ax]; rem %= ost[ax]; off += idx * st[perm[ax]] }
                data[i] = x.data[off]
            }
            return Value(shape: out, data: data, isFloat: x.isFloat)
        case "Expand":
            let x = try input(0), s = try input(1).ints
            guard let out = broadcast(x.shape, s) else { throw fail("to shape \(s)") }
            return Value(shape: out, data: gatherBroadcast(x, out), isFloat: x.isFloat)
        case "ConstantOfShape":
            let s = try input(0).ints
            let v = attr.tensor("value") ?? ConstTensor(shape: [1], floats: [0])
            let cv = Value(v)
            return Value(shape: s, data: [Double](repeating: cv.data.first ?? 0, count: s.reduce(1, *)), isFloat: cv.isFloat)
        case "Range":
            let start = try input(0), limit = try input(1), delta = try input(2)
            let s = start.data[0], l = limit.data[0], d = delta.data[0]
            guard d != 0 else { throw fail("with delta 0") }
            let n = max(0, Int(((l - s) / d).rounded(.up)))
            return Value(shape: [n], data: (0..<n).map { s + Double($0) * d }, isFloat: start.isFloat)
        case "Slice":
            let x = try input(0)
            let starts = try input(1).ints, ends = try input(2).ints
            let r = x.shape.count
            let axes = inputs.count > 3 && inputs[3] != nil ? try input(3).ints.map { axis($0, r) } : Array(0..<starts.count)
            let steps = inputs.count > 4 && inputs[4] != nil ? try input(4).ints : [Int](repeating: 1, count: starts.count)
            var ranges = x.shape.map { (0, $0, 1) }
            for (i, a) in axes.enumerated() {
                let len = x.shape[a], st = steps[i]
                guard st != 0 else { throw fail("with step 0") }
                func clampIdx(_ v: Int, _ lo: Int, _ hi: Int) -> Int {
                    let w = v < 0 ? (v == Int.min ? lo : v + len) : v
                    return min(max(w, lo), hi)
                }
                if st > 0 { ranges[a] = (clampIdx(starts[i], 0, len), clampIdx(ends[i], 0, len), st) }
                else { ranges[a] = (clampIdx(starts[i], -1, len - 1), clampIdx(ends[i], -1, len - 1), st) }
            }
            let idxs = ranges.map { r in Array(stride(from: r.0, to: r.1, by: r.2)) }
            let out = idxs.map(\.count), st = strides(of: x.shape)
            var data = [Double]()
            data.reserveCapacity(out.reduce(1, *))
            func walk(_ ax: Int, _ off: Int) {
                if ax == r { data.append(x.data[off]); return }
                for i in idxs[ax] { walk(ax + 1, off + i * st[ax]) }
            }
            if out.reduce(1, *) > 0 { walk(0, 0) }
            return Value(shape: out, data: data, isFloat: x.isFloat)
        default:
            throw fail("is not foldable")
        }
    }
}

/// Shape helpers shared by folding and compilation.
enum Shapes {
    static func reshape(_ shape: [Int], _ target: [Int], allowZero: Bool, node: String) throws -> [Int] {
        var out = target
        let total = shape.reduce(1, *)
        for i in out.indices where out[i] == 0 && !allowZero {
            guard i < shape.count else { throw InferenceError.shapeMismatch("node \"\(node)\": Reshape 0 at axis \(i) beyond input rank") }
            out[i] = shape[i]
        }
        if let neg = out.firstIndex(of: -1) {
            let known = out.enumerated().filter { $0.offset != neg }.map(\.element).reduce(1, *)
            guard known > 0, total % known == 0 else {
                throw InferenceError.shapeMismatch("node \"\(node)\": cannot reshape \(shape) to \(target)")
            }
            out[neg] = total / known
        }
        guard out.reduce(1, *) == total, out.allSatisfy({ $0 >= 0 }) else {
            throw InferenceError.shapeMismatch("node \"\(node)\": cannot reshape \(shape) to \(target)")
        }
        return out
    }
}

/// Typed access to a node's attributes; every name read is recorded so unknown ones can be refused.
final class Attributes {
    let nodeName: String
    let attrs: [String: AttributeProto]
    private(set) var read: Set<String> = []

    init(_ node: NodeProto, name: String) { nodeName = name; attrs = node.attributes }

    func has(_ n: String) -> Bool { read.insert(n); return attrs[n] != nil }
    func int(_ n: String, _ d: Int) -> Int { read.insert(n); return attrs[n]?.i.map { Int($0) } ?? d }
    func float(_ n: String, _ d: Float) -> Float { read.insert(n); return attrs[n]?.f ?? d }
    func string(_ n: String, _ d: String) -> String { read.insert(n); return attrs[n]?.s ?? d }
    func ints(_ n: String) -> [Int] { read.insert(n); return attrs[n]?.ints.map { Int($0) } ?? [] }
    func floats(_ n: String) -> [Float] { read.insert(n); return attrs[n]?.floats ?? [] }
    func tensor(_ n: String) -> ConstTensor? { read.insert(n); return attrs[n]?.t }

    /// Refuses attributes this engine never looked at: they might change the result.
    func checkAllRead(op: String) throws {
        if let unknown = attrs.keys.sorted().first(where: { !read.contains($0) }) {
            throw InferenceError.unsupported(node: nodeName, detail: "\(op) attribute \"\(unknown)\"")
        }
    }
}
