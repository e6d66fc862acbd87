import Foundation
import XCTest
@testable import Inference

/// Reads Fixtures/index.json written by weights/training/make_fixtures.py.
struct FixtureIndex: Decodable {
    struct Port: Decodable { let name: String; let shape: [Int] }
    struct Case: Decodable { let name: String; let model: String; let data: String; let inputs: [Port]; let outputs: [Port] }
    struct Refusal: Decodable { let name: String; let model: String; let error_contains: String }
    /// The shipped model's raw outputs (the ones its card's heads name, before their activation).
    struct Shipped: Decodable {
        let model: String; let input: String; let input_name: String; let shape: [Int]
        let mask_output: String; let class_output: String
        let mask_indices: [Int]; let mask_values: [Float]; let mask_sum: Double; let class_values: [Float]
    }
    let cases: [Case]
    let refusals: [Refusal]
    let shipped: Shipped?

    static var directory: URL { Bundle.module.resourceURL!.appendingPathComponent("Fixtures") }

    /// The shipped model (weights/), its reference outputs and the fixture image they are for.
    static func shippedModel() throws -> (Shipped, ONNXModel, Data) {
        guard let ref = try load().shipped else { throw XCTSkip("no shipped-model reference in the fixtures yet") }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (ref, try ONNXModel(contentsOf: root.appendingPathComponent(ref.model)),
                try Data(contentsOf: directory.appendingPathComponent(ref.input)))
    }

    static func load() throws -> FixtureIndex {
        try JSONDecoder().decode(FixtureIndex.self, from: Data(contentsOf: directory.appendingPathComponent("index.json")))
    }
}

extension FixtureIndex.Case {
    /// Inputs then expected outputs, decoded from the raw little-endian float32 file.
    func tensors() throws -> (inputs: [String: Tensor], expected: [String: Tensor]) {
        let data = try Data(contentsOf: FixtureIndex.directory.appendingPathComponent(self.data))
        var floats = [Float](repeating: 0, count: data.count / 4)
        _ = floats.withUnsafeMutableBytes { data.copyBytes(to: $0) }
        var offset = 0
        func take(_ p: FixtureIndex.Port) -> Tensor {
            let n = p.shape.reduce(1, *)
            defer { offset += n }
            return Tensor(shape: p.shape, data: Array(floats[offset..<(offset + n)]))
        }
        let ins = Dictionary(uniqueKeysWithValues: inputs.map { ($0.name, take($0)) })
        let outs = Dictionary(uniqueKeysWithValues: outputs.map { ($0.name, take($0)) })
        XCTAssertEqual(offset, floats.count, "\(name): fixture size does not match its index entry")
        return (ins, outs)
    }
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var m: Float = 0
    for i in a.indices {
        let d = abs(a[i] - b[i])
        if d.isNaN { return .infinity }
        m = max(m, d)
    }
    return m
}
