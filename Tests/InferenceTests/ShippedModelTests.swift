import Foundation
import Synchronization
import XCTest
@testable import Inference

/// The shipped model (weights/busi_unet.onnx) against onnxruntime's outputs for one fixed input.
final class ShippedModelTests: XCTestCase {
    /// The fixtures' shipped-model entry, the model it names and its input image's bytes.
    func shipped() throws -> (FixtureIndex.Shipped, ONNXModel, Data) { try FixtureIndex.shippedModel() }

    func testShippedModelMatchesReference() throws {
        let (ref, model, pixels) = try shipped()
        XCTAssertEqual(pixels.count, ref.shape.reduce(1, *))
        let input = Tensor(shape: ref.shape, data: pixels.map { Float($0) / 255 })
        for threads in [1, 2] {
            let out = try InferenceSession(model: model, inputShapes: [ref.input_name: ref.shape], threads: threads).run([ref.input_name: input])
            let mask = try XCTUnwrap(out[ref.mask_output]), probs = try XCTUnwrap(out[ref.class_output])
            XCTAssertEqual(mask.shape, ref.shape)
            XCTAssertLessThanOrEqual(maxAbsDiff(ref.mask_indices.map { mask.data[$0] }, ref.mask_values), 1e-4)
            XCTAssertLessThanOrEqual(maxAbsDiff(probs.data, ref.class_values), 1e-4)
            // Whole-mask checksum: a mean error of 1e-5 per pixel at most.
            let sum = mask.data.reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(sum, ref.mask_sum, accuracy: 1e-5 * Double(mask.count))
        }
    }

    /// A run may change its thread count from step to step (the gateway gives a lone job the
    /// idle workers' cores): the outputs are the same to the bit as on one thread. (A session
    /// made for another thread count may time other kernels faster; the session's own runs on
    /// one thread are the reference.)
    func testOutputsDoNotDependOnTheThreadsOfEachStep() throws {
        let (ref, model, pixels) = try shipped()
        let input = [ref.input_name: Tensor(shape: ref.shape, data: pixels.map { Float($0) / 255 })]
        let session = try InferenceSession(model: model, inputShapes: [ref.input_name: ref.shape], threads: 3)
        let one = try session.run(input, threadsPerStep: { 1 })
        var step = 0
        let schedules: [String: () -> Int] = [
            "3 threads": { 3 },
            "1, 2, 3, 1, ... threads": { step += 1; return step % 3 + 1 },
            "asks for 8, gets 3": { 8 },
            "asks for 0, gets 1": { 0 },
        ]
        for (name, threads) in schedules {
            let out = try session.run(input, threadsPerStep: threads)
            XCTAssertEqual(out[ref.mask_output]?.data, one[ref.mask_output]?.data, name)
            XCTAssertEqual(out[ref.class_output]?.data, one[ref.class_output]?.data, name)
        }
        XCTAssertGreaterThan(step, 10, "asked before each step")
    }

    /// Sessions sharing one compile's kernels, run at the same time on different inputs, each
    /// give what a session of its own gives: the kernels keep no state between runs.
    func testSessionsSharingKernelsRunConcurrentlyWithTheirOwnResults() throws {
        let (ref, model, pixels) = try shipped()
        // Two different inputs: the fixture image and its mirror image.
        let width = ref.shape[3]
        let a = pixels.map { Float($0) / 255 }
        let b = (0..<a.count).map { a[($0 / width) * width + (width - 1 - $0 % width)] }
        let first = try InferenceSession(model: model, inputShapes: [ref.input_name: ref.shape])
        let shared = try InferenceSession(sharingKernelsOf: first)
        let expected = try [a, b].map { input in
            try InferenceSession(model: model, inputShapes: [ref.input_name: ref.shape]).run([ref.input_name: Tensor(shape: ref.shape, data: input)])
        }
        let got = Mutex<[[String: Tensor]?]>([nil, nil])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { k in
            let session = k == 0 ? first : shared
            do {
                for _ in 0..<3 {
                    let out = try session.run([ref.input_name: Tensor(shape: ref.shape, data: k == 0 ? a : b)])
                    got.withLock { $0[k] = out }
                    if out[ref.mask_output]?.data != expected[k][ref.mask_output]?.data || out[ref.class_output]?.data != expected[k][ref.class_output]?.data {
                        failures.withLock { $0.append("session \(k) differs") }
                    }
                }
            } catch {
                failures.withLock { $0.append("session \(k): \(error)") }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertNotEqual(expected[0][ref.mask_output]?.data, expected[1][ref.mask_output]?.data, "the two inputs give different masks")
        XCTAssertNotNil(got.withLock { $0[1] })
    }
}
