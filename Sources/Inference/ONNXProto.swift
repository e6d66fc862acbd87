import Foundation

/// ONNX TensorProto.DataType values this engine can read.
enum ONNXDataType: Int {
    case float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7
    case bool = 9, float16 = 10, double = 11, uint32 = 12, uint64 = 13
}

/// A constant tensor (initializer, Constant node or folded value). Floats and integers are
/// kept apart because shape arithmetic (Shape/Gather/Concat...) must stay exact.
struct ConstTensor {
    var shape: [Int]
    var floats: [Float]?
    var ints: [Int64]?
    var count: Int { shape.reduce(1, *) }
    var isFloat: Bool { floats != nil }

    init(shape: [Int], floats: [Float]) { self.shape = shape; self.floats = floats }
    init(shape: [Int], ints: [Int64]) { self.shape = shape; self.ints = ints }

    var asFloats: [Float] { floats ?? ints!.map { Float($0) } }
    var asInts: [Int64] { ints ?? floats!.map { Int64($0) } }
}

struct AttributeProto {
    var name = ""
    var f: Float?
    var i: Int64?
    var s: String?
    var t: ConstTensor?
    var floats: [Float] = []
    var ints: [Int64] = []
    var hasGraph = false
}

struct NodeProto {
    var name = ""
    var opType = ""
    var domain = ""
    var inputs: [String] = []
    var outputs: [String] = []
    var attributes: [String: AttributeProto] = [:]
}

struct ValueInfoProto {
    var name = ""
    var elemType = 0
    /// nil entries are symbolic (dim_param) or unknown dimensions.
    var dims: [Int?]?
}

struct GraphProto {
    var name = ""
    var nodes: [NodeProto] = []
    var initializers: [String: ConstTensor] = [:]
    var inputs: [ValueInfoProto] = []
    var outputs: [ValueInfoProto] = []
}

/// Decoding of the ONNX messages; `baseURL` resolves external-data locations.
struct ONNXDecoder {
    let baseURL: URL?

    func model(_ r: inout ProtoReader) throws -> (graph: GraphProto, opset: Int) {
        var graph: GraphProto?
        var opset = 0
        while !r.atEnd {
            let (f, w) = try r.tag()
            switch (f, w) {
            case (7, 2): var s = try r.sub(); graph = try self.graph(&s)
            case (8, 2):
                var s = try r.sub(); var domain = ""; var version = 0
                while !s.atEnd {
                    let (f2, w2) = try s.tag()
                    if f2 == 1, w2 == 2 { domain = try s.string() }
                    else if f2 == 2, w2 == 0 { version = Int(try s.varint()) }
                    else { try s.skip(wireType: w2) }
                }
                if domain == "" || domain == "ai.onnx" { opset = version }
            default: try r.skip(wireType: w)
            }
        }
        guard let g = graph else { throw InferenceError.malformedModel("ModelProto has no graph") }
        return (g, opset)
    }

    func graph(_ r: inout ProtoReader) throws -> GraphProto {
        var g = GraphProto()
        while !r.atEnd {
            let (f, w) = try r.tag()
            switch (f, w) {
            case (1, 2): var s = try r.sub(); g.nodes.append(try node(&s))
            case (2, 2): g.name = try r.string()
            case (5, 2): var s = try r.sub(); let (name, t) = try tensor(&s); g.initializers[name] = t
            case (11, 2): var s = try r.sub(); g.inputs.append(try valueInfo(&s))
            case (12, 2): var s = try r.sub(); g.outputs.append(try valueInfo(&s))
            default: try r.skip(wireType: w)
            }
        }
        return g
    }

    func node(_ r: inout ProtoReader) throws -> NodeProto {
        var n = NodeProto()
        while !r.atEnd {
            let (f, w) = try r.tag()
            switch (f, w) {
            case (1, 2): n.inputs.append(try r.string())
            case (2, 2): n.outputs.append(try r.string())
            case (3, 2): n.name = try r.string()
            case (4, 2): n.opType = try r.string()
            case (7, 2): n.domain = try r.string()
            case (5, 2): var s = try r.sub(); let a = try attribute(&s); n.attributes[a.name] = a
            default: try r.skip(wireType: w)
            }
        }
        return n
    }

    func attribute(_ r: inout ProtoReader) throws -> AttributeProto {
        var a = AttributeProto()
        while !r.atEnd {
            let (f, w) = try r.tag()
            switch (f, w) {
            case (1, 2): a.name = try r.string()
            case (2, 5): a.f = Float(bitPattern: try r.fixed32())
            case (3, 0): a.i = Int64(bitPattern: try r.varint())
            case (4, 2): a.s = try r.string()
            case (5, 2): var s = try r.sub(); a.t = try tensor(&s).1
            case (6, 2): _ = try r.lengthDelimited(); a.hasGraph = true
            case (7, 2), (7, 5): try r.appendFloats(&a.floats, wireType: w)
            case (8, 2), (8, 0): try r.appendInts(&a.ints, wireType: w)
            default: try r.skip(wireType: w)
            }
        }
        return a
    }

    func valueInfo(_ r: inout ProtoReader) throws -> ValueInfoProto {
        var v = ValueInfoProto()
        while !r.atEnd {
            let (f, w) = try r.tag()
            if f == 1, w == 2 { v.name = try r.string(); continue }
            guard f == 2, w == 2 else { try r.skip(wireType: w); continue }
            var type = try r.sub()                      // TypeProto
            while !type.atEnd {
                let (tf, tw) = try type.tag()
                guard tf == 1, tw == 2 else { try type.skip(wireType: tw); continue }
                var tt = try type.sub()                 // TypeProto.Tensor
                while !tt.atEnd {
                    let (xf, xw) = try tt.tag()
                    if xf == 1, xw == 0 { v.elemType = Int(try tt.varint()) }
                    else if xf == 2, xw == 2 {
                        var shape = try tt.sub(); var dims: [Int?] = []
                        while !shape.atEnd {
                            let (sf, sw) = try shape.tag()
                            guard sf == 1, sw == 2 else { try shape.skip(wireType: sw); continue }
                            var dim = try shape.sub(); var value: Int?
                            while !dim.atEnd {
                                let (df, dw) = try dim.tag()
                                if df == 1, dw == 0 { value = Int(Int64(bitPattern: try dim.varint())) }
                                else { try dim.skip(wireType: dw) }
                            }
                            dims.append(value)
                        }
                        v.dims = dims
                    } else { try tt.skip(wireType: xw) }
                }
            }
        }
        return v
    }

    func tensor(_ r: inout ProtoReader) throws -> (String, ConstTensor) {
        var dims: [Int64] = [], dataType = 0, name = ""
        var floats: [Float] = [], ints: [Int64] = [], doubles: [Double] = []
        var raw: Range<Int>?
        var external: [String: String] = [:]
        var dataLocation = 0
        while !r.atEnd {
            let (f, w) = try r.tag()
            switch (f, w) {
            case (1, _): try r.appendInts(&dims, wireType: w)
            case (2, 0): dataType = Int(try r.varint())
            case (4, _): try r.appendFloats(&floats, wireType: w)
            case (5, _), (7, _), (11, _): try r.appendInts(&ints, wireType: w)   // int32/int64/uint64 data
            case (8, 2): name = try r.string()
            case (9, 2): raw = try r.lengthDelimited()
            case (10, _): try r.appendDoubles(&doubles, wireType: w)
            case (13, 2):
                var s = try r.sub(); var k = "", v = ""
                while !s.atEnd {
                    let (f2, w2) = try s.tag()
                    if f2 == 1, w2 == 2 { k = try s.string() } else if f2 == 2, w2 == 2 { v = try s.string() }
                    else { try s.skip(wireType: w2) }
                }
                external[k] = v
            case (14, 0): dataLocation = Int(try r.varint())
            default: try r.skip(wireType: w)
            }
        }
        guard let type = ONNXDataType(rawValue: dataType) else {
            throw InferenceError.malformedModel("tensor \"\(name)\" has data type \(dataType), which this engine cannot read")
        }
        let shape = dims.map { Int($0) }
        let count = shape.reduce(1, *)
        var rawBytes: [UInt8]?
        if dataLocation == 1 {
            rawBytes = try readExternal(external, tensor: name)
        } else if let raw = raw {
            rawBytes = Array(UnsafeRawBufferPointer(rebasing: r.bytes[raw]))
        }
        let t: ConstTensor
        if let bytes = rawBytes {
            t = try decodeRaw(bytes, type: type, shape: shape, name: name)
        } else {
            switch type {
            case .float, .float16:
                // float16 in typed storage sits in int32_data as bit patterns.
                t = type == .float ? ConstTensor(shape: shape, floats: floats)
                                   : ConstTensor(shape: shape, floats: ints.map { halfToFloat(UInt16(truncatingIfNeeded: $0)) })
            case .double: t = ConstTensor(shape: shape, floats: doubles.map { Float($0) })
            default: t = ConstTensor(shape: shape, ints: ints)
            }
        }
        let n = t.floats?.count ?? t.ints!.count
        guard n == count else {
            throw InferenceError.malformedModel("tensor \"\(name)\" has \(n) values for shape \(shape)")
        }
        return (name, t)
    }

    private func readExternal(_ info: [String: String], tensor name: String) throws -> [UInt8] {
        guard let location = info["location"] else {
            throw InferenceError.externalData("tensor \"\(name)\" is external but has no location")
        }
        guard let base = baseURL else {
            throw InferenceError.externalData("tensor \"\(name)\" refers to \"\(location)\" but the model was not loaded from a file")
        }
        let url = base.appendingPathComponent(location)
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw InferenceError.externalData("tensor \"\(name)\": cannot open \"\(location)\"")
        }
        defer { try? handle.close() }
        let offset = UInt64(info["offset"] ?? "0") ?? 0
        do {
            try handle.seek(toOffset: offset)
            let data: Data
            if let l = info["length"], let length = Int(l) {
                data = try handle.read(upToCount: length) ?? Data()
                guard data.count == length else {
                    throw InferenceError.externalData("tensor \"\(name)\": \"\(location)\" has \(data.count) bytes at offset \(offset), expected \(length)")
                }
            } else {
                data = try handle.readToEnd() ?? Data()
            }
            return [UInt8](data)
        } catch let e as InferenceError { throw e } catch {
            throw InferenceError.externalData("tensor \"\(name)\": reading \"\(location)\" failed: \(error)")
        }
    }

    private func decodeRaw(_ bytes: [UInt8], type: ONNXDataType, shape: [Int], name: String) throws -> ConstTensor {
        let count = shape.reduce(1, *)
        let width: Int
        switch type {
        case .float, .int32, .uint32: width = 4
        case .int64, .uint64, .double: width = 8
        case .float16, .int16, .uint16: width = 2
        case .uint8, .int8, .bool: width = 1
        }
        guard bytes.count == count * width else {
            throw InferenceError.malformedModel("tensor \"\(name)\" has \(bytes.count) raw bytes, expected \(count * width) for shape \(shape)")
        }
        return bytes.withUnsafeBytes { p in
            func load<T>(_: T.Type, _ i: Int) -> T { p.loadUnaligned(fromByteOffset: i * width, as: T.self) }
            switch type {
            case .float: return ConstTensor(shape: shape, floats: (0..<count).map { Float(bitPattern: UInt32(littleEndian: load(UInt32.self, $0))) })
            case .double: return ConstTensor(shape: shape, floats: (0..<count).map { Float(Double(bitPattern: UInt64(littleEndian: load(UInt64.self, $0)))) })
            case .float16: return ConstTensor(shape: shape, floats: (0..<count).map { halfToFloat(UInt16(littleEndian: load(UInt16.self, $0))) })
            case .int64, .uint64: return ConstTensor(shape: shape, ints: (0..<count).map { Int64(littleEndian: load(Int64.self, $0)) })
            case .int32: return ConstTensor(shape: shape, ints: (0..<count).map { Int64(Int32(littleEndian: load(Int32.self, $0))) })
            case .uint32: return ConstTensor(shape: shape, ints: (0..<count).map { Int64(UInt32(littleEndian: load(UInt32.self, $0))) })
            case .int16: return ConstTensor(shape: shape, ints: (0..<count).map { Int64(Int16(littleEndian: load(Int16.self, $0))) })
            case .uint16: return ConstTensor(shape: shape, ints: (0..<count).map { Int64(UInt16(littleEndian: load(UInt16.self, $0))) })
            case .int8: return ConstTensor(shape: shape, ints: (0..<count).map { Int64(load(Int8.self, $0)) })
            case .uint8, .bool: return ConstTensor(shape: shape, ints: (0..<count).map { Int64(load(UInt8.self, $0)) })
            }
        }
    }
}

/// IEEE half to single, done by hand so it works on every platform.
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = Int((h >> 10) & 0x1f)
    let mant = UInt32(h & 0x3ff)
    if exp == 0 {
        if mant == 0 { return Float(bitPattern: sign) }
        let v = Float(mant) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -v : v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mant << 13)) }
    return Float(bitPattern: sign | (UInt32(exp + 112) << 23) | (mant << 13))
}
