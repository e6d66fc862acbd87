import XCTest
@testable import Inference

/// The fusion rules on hand-made step graphs: each rewrites only where its pattern holds, never
/// fuses away a value the caller reads or another step needs, and the rules run in order.
/// (ParityTests checks the fused graphs compute what ONNX Runtime does.)
final class FusionRuleTests: XCTestCase {
    /// 1 x c x 8 x 8 -> 3x3 conv, pad 1 -> 1 x 4 x 8 x 8 (8 wide and 4 channels: the direct
    /// path's minimum).
    private func conv(c: Int = 4) -> ConvSpec {
        let g = ConvGeometry(n: 1, c: c, h: 8, w: 8, m: 4, ho: 8, wo: 8, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1,
                             padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, group: 1)
        return ConvSpec(g, transpose: false, weightShape: [4, c, 3, 3], weights: [Float](repeating: 1, count: 4 * c * 9),
                        bias: [1, 2, 3, 4])
    }

    private func affine() -> ChannelAffineKernel {
        ChannelAffineKernel(n: 1, c: 4, inner: 64, scale: [2, 3, 4, 5], shift: [10, 20, 30, 40])
    }

    private func step(_ name: String, _ op: StepOp, _ inputs: [Int], _ outputs: [Int]) -> PlannedStep {
        PlannedStep(name: name, op: op, inputs: inputs, outputs: outputs)
    }

    func testBatchNormFoldsIntoTheConvAndItsActivationFollows() {
        let spec = conv()
        var graph = StepGraph(steps: [
            step("Conv_0", .conv(spec), [0], [1]),
            step("BN_1", .kernel(affine()), [1], [2]),
            step("Relu_2", .kernel(ActivationKernel(count: 256, activation: .relu)), [2], [3]),
        ], graphOutputs: [3])
        graph.fuse(GraphCompiler.fusions + GraphCompiler.layoutFusions)
        XCTAssertEqual(graph.steps.map(\.name), ["Conv_0"])
        XCTAssertEqual(graph.steps[0].outputs, [3], "the conv now writes what the Relu wrote")
        XCTAssertEqual(spec.activation, .relu)
        XCTAssertEqual(spec.weights[0], 2, "output channel 0's weights x its scale")
        XCTAssertEqual(spec.weights[36], 3, "output channel 1's weights x its scale")
        XCTAssertEqual(spec.weights[143], 5, "output channel 3's last weight x its scale")
        XCTAssertEqual(spec.bias, [12, 26, 42, 60], "bias x scale + shift")
    }

    func testAValueTheCallerReadsOrAnotherStepNeedsIsNeverFusedAway() {
        // The conv's output is a graph output: the BatchNormalization must stay a step.
        var read = StepGraph(steps: [step("Conv_0", .conv(conv()), [0], [1]), step("BN_1", .kernel(affine()), [1], [2])],
                             graphOutputs: [1, 2])
        read.fuse(GraphCompiler.fusions + GraphCompiler.layoutFusions)
        XCTAssertEqual(read.steps.map(\.name), ["Conv_0", "BN_1"])
        // Two readers of the conv's output: the activation must stay a step.
        var shared = StepGraph(steps: [
            step("Conv_0", .conv(conv()), [0], [1]),
            step("Relu_1", .kernel(ActivationKernel(count: 256, activation: .relu)), [1], [2]),
            step("Add_2", .kernel(BinaryKernel(op: .add, a: [1, 4, 8, 8], b: [1, 4, 8, 8], out: [1, 4, 8, 8])), [1, 2], [3]),
        ], graphOutputs: [3])
        shared.fuse(GraphCompiler.fusions + GraphCompiler.layoutFusions)
        XCTAssertEqual(shared.steps.map(\.name), ["Conv_0", "Relu_1", "Add_2"])
    }

    func testAConcatReadOnlyByADirectConvBecomesItsSegmentsAndAChainFusesIntoTheNext() {
        let first = conv(c: 2), second = conv()
        XCTAssertTrue(first.isDirect, "the test's convs must take the direct path for these rules")
        var graph = StepGraph(steps: [
            step("Concat_0", .kernel(ConcatKernel(outer: 1, blocks: [64, 64], channelSegments: [1, 1])), [0, 1], [2]),
            step("Conv_1", .conv(first), [2], [3]),
            step("Conv_2", .conv(second), [3], [4]),
        ], graphOutputs: [4])
        graph.fuse(GraphCompiler.fusions + GraphCompiler.layoutFusions)
        XCTAssertEqual(graph.steps.map(\.name), ["Conv_2"])
        XCTAssertEqual(graph.steps[0].inputs, [0, 1], "the chain reads the Concat's inputs")
        XCTAssertTrue(second.producer === first)
        XCTAssertEqual(first.segments, [1, 1])
        XCTAssertEqual(second.segments, nil)
    }
}
