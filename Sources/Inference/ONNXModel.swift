import Foundation

/// A decoded ONNX model (graph + constants). Immutable; share it between sessions.
public final class ONNXModel: @unchecked Sendable {
    let graph: GraphProto
    /// Default-domain opset the model was exported with.
    public let opset: Int

    /// Loads a model file; external-data tensors are resolved relative to its folder.
    public convenience init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw InferenceError.malformedModel("cannot read \(url.path): \(error.localizedDescription)")
        }
        try self.init(data: data, baseURL: url.deletingLastPathComponent())
    }

    public init(data: Data, baseURL: URL? = nil) throws {
        let decoder = ONNXDecoder(baseURL: baseURL)
        let parsed = try data.withUnsafeBytes { raw -> (graph: GraphProto, opset: Int) in
            var r = ProtoReader(raw)
            return try decoder.model(&r)
        }
        graph = parsed.graph
        opset = parsed.opset
        guard opset == 0 || (7...21).contains(opset) else {
            throw InferenceError.unsupported(node: "model", detail: "opset \(opset)")
        }
    }

    /// Graph inputs that are not initializers, with their declared dims (nil = symbolic).
    public var inputs: [(name: String, dims: [Int?])] {
        graph.inputs.filter { graph.initializers[$0.name] == nil }.map { ($0.name, $0.dims ?? []) }
    }

    public var outputNames: [String] { graph.outputs.map(\.name) }
}
