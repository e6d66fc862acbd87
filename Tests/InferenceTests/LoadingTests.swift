import Foundation
import XCTest
@testable import Inference

final class LoadingTests: XCTestCase {
    private func fixture(_ name: String) -> URL { FixtureIndex.directory.appendingPathComponent(name) }

    func testTruncatedModelIsMalformed() throws {
        let data = try Data(contentsOf: fixture("conv3x3_pad1.onnx"))
        XCTAssertThrowsError(try ONNXModel(data: data.prefix(data.count / 2))) { error in
            guard case InferenceError.malformedModel = error else { return XCTFail("got \(error)") }
        }
    }

    func testMissingExternalDataFileIsReported() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wecare-ext-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: fixture("external_data.onnx"), to: dir.appendingPathComponent("m.onnx"))
        XCTAssertThrowsError(try ONNXModel(contentsOf: dir.appendingPathComponent("m.onnx"))) { error in
            guard case InferenceError.externalData(let m) = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(m.contains("external_data.weights"), m)
        }
    }

    func testWrongInputShapeAndNamesAreRejected() throws {
        let model = try ONNXModel(contentsOf: fixture("conv3x3_pad1.onnx"))
        XCTAssertThrowsError(try InferenceSession(model: model, inputShapes: ["x": [1, 3, 5]])) { error in
            guard case InferenceError.shapeMismatch = error else { return XCTFail("got \(error)") }
        }
        XCTAssertThrowsError(try InferenceSession(model: model, inputShapes: ["nope": [1, 3, 17, 19]]))
        let session = try InferenceSession(model: model)
        XCTAssertThrowsError(try session.run(["x": Tensor(zeros: [1, 3, 17, 18])])) { error in
            guard case InferenceError.badInput = error else { return XCTFail("got \(error)") }
        }
        XCTAssertThrowsError(try session.run([:]))
    }

    func testHalfToFloat() {
        XCTAssertEqual(halfToFloat(0x3c00), 1)
        XCTAssertEqual(halfToFloat(0xc000), -2)
        XCTAssertEqual(halfToFloat(0x0001), Float(sign: .plus, exponent: -24, significand: 1))
        XCTAssertEqual(halfToFloat(0x7bff), 65504)
        XCTAssertTrue(halfToFloat(0x7c00).isInfinite)
    }

    func testArenaReusesMemory() throws {
        // The planner must reuse buffers: the arena is smaller than all values side by side.
        let model = try ONNXModel(contentsOf: fixture("unet_small.onnx"))
        let session = try InferenceSession(model: model)
        let c = try GraphCompiler(model: model, inputShapes: [:])
        let everything = c.slots.reduce(0) { $0 + $1.count * 4 }
        XCTAssertLessThan(session.arenaBytes, everything / 2, "arena \(session.arenaBytes) B vs \(everything) B of values")
    }

    func testConcurrentSessionsAgree() throws {
        let model = try ONNXModel(contentsOf: fixture("unet_small.onnx"))
        let input = Tensor(shape: [1, 1, 48, 40], data: (0..<1920).map { Float($0 % 97) / 97 })
        // Same thread count as the concurrent sessions: each item is computed the same way whichever
        // worker takes it, so results are bit-identical.
        let reference = try InferenceSession(model: model, threads: 2).run(["image": input])
        let sessions = try (0..<4).map { _ in try InferenceSession(model: model, threads: 2) }
        let results = UnsafeMutableBufferPointer<[String: Tensor]>.allocate(capacity: 4)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            (results.baseAddress! + i).initialize(to: (try? sessions[i].run(["image": input])) ?? [:])
        }
        for i in 0..<4 {
            for name in ["mask", "class_probs"] {
                guard let got = results[i][name], let want = reference[name] else { XCTFail("session \(i): no \(name)"); continue }
                XCTAssertEqual(maxAbsDiff(got.data, want.data), 0, "session \(i) \(name) differs from the serial run")
            }
        }
    }
}
