/// Everything the engine refuses, with the node at fault and what to do about it.
public enum InferenceError: Error, CustomStringConvertible, Equatable {
    /// The bytes are not a valid ONNX protobuf (truncated, wrong wire type, ...).
    case malformedModel(String)
    /// A node uses an operator, attribute value or shape this engine does not implement.
    case unsupported(node: String, detail: String)
    /// Shapes that cannot be made to agree (wrong input shape, bad reshape, ...).
    case shapeMismatch(String)
    /// An external data file is missing or too short.
    case externalData(String)
    /// `run` was called with missing, extra or wrongly shaped inputs.
    case badInput(String)
    /// oneDNN could not build a region (the compiler then keeps the engine's own kernels).
    case oneDNN(String)

    public var description: String {
        switch self {
        case .malformedModel(let m): return "malformed ONNX model: \(m); re-export the model or check the file is complete"
        case .unsupported(let node, let d): return "node \"\(node)\": \(d) not supported by the WeCare engine; re-export with supported operators/attributes"
        case .shapeMismatch(let m): return "shape mismatch: \(m)"
        case .externalData(let m): return "external data: \(m); keep the data file next to the model file"
        case .badInput(let m): return "bad input: \(m)"
        case .oneDNN(let m): return "oneDNN: \(m); WECARE_CONVOLUTIONS=own runs the engine's own kernels"
        }
    }
}
