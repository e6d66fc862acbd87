import Analysis
import Foundation
import Inference

/// The model's answer for one field of view, at model resolution.
public struct ModelPrediction: Sendable {
    public var probabilities: ProbabilityMap
    /// In the order of `ModelCard.classes`.
    public var classProbabilities: [Double]
}

/// The trained network behind a small pool of inference sessions: a session is single-threaded
/// state, so each concurrent caller checks one out; the pool starts with `sessions` and grows
/// to the peak concurrency. The network is compiled once; every session runs the same kernels
/// (one copy of the packed weights) on its own activations.
public final class LesionModel: @unchecked Sendable {
    public let card: ModelCard
    public let threadsPerSession: Int
    /// Shared with the other workers: a job alone may run on their idle threads too.
    public let budget: ThreadBudget?
    private var idle: [InferenceSession] = []
    /// The compiled session every other one shares its kernels with.
    private let first: InferenceSession
    private let lock = NSLock()
    public let gflop: Double

    /// `thresholdOverride`: the admin's `[analysis] threshold`, replacing the model card's.
    /// `sessions`: how many are planned now, one per caller expected at once (the gateway's
    /// workers). Compiling takes about 100 ms of CPU and each further session allocates its
    /// buffers; done here, the first images do not wait for it.
    /// `budget`: the threads all sessions share (the gateway's workers x threads). A run then
    /// takes, before each step, its share of them among the jobs at work (`Reporter.asOneJob`),
    /// and at least `threadsPerSession`.
    public init(modelFile: URL, threadsPerSession: Int = 1, sessions: Int = 1, thresholdOverride: Double? = nil,
                budget: ThreadBudget? = nil) throws {
        var card = try ModelCard.load(besideModel: modelFile)
        if let t = thresholdOverride { card.threshold = t }
        self.card = card
        self.threadsPerSession = max(1, threadsPerSession)
        self.budget = budget
        // Each session's scratch is sized for the most threads one run may take.
        let sessionThreads = max(self.threadsPerSession, budget?.total ?? 0)
        do {
            let model = try ONNXModel(contentsOf: modelFile)
            let first = try InferenceSession(model: model, inputShapes: [card.input.name: card.input.shape],
                                             threads: sessionThreads)
            let heads = card.heads
            guard first.outputs.contains(where: { $0.name == heads.mask.output }),
                  first.outputs.contains(where: { $0.name == heads.classes.output }) else {
                throw ReportingError.modelUnusable(
                    "\(modelFile.lastPathComponent) must have outputs '\(heads.mask.output)' and '\(heads.classes.output)' "
                        + "(the model card's heads)")
            }
            gflop = first.gflop
            self.first = first
            idle.append(first)
            for _ in 1..<max(1, sessions) {
                idle.append(try InferenceSession(sharingKernelsOf: first, threads: sessionThreads))
            }
        } catch let e as ReportingError {
            throw e
        } catch {
            throw ReportingError.modelUnusable("\(modelFile.path): \(error)")
        }
    }

    /// Runs the network on a grayscale field of view of any size (and on its mirror image too,
    /// when the card says so). The two runs' outputs are averaged as the network gives them,
    /// before the heads' activations: a logit model is averaged in logits, as its
    /// cross-validation scored it, and a probability model in probabilities.
    public func predict(_ fieldOfView: GrayImage) throws -> ModelPrediction {
        let input = try fieldOfView.resizedAdaptiveAverage(width: card.inputWidth, height: card.inputHeight)
        var outputs = try run(input)
        if card.flipAverage {
            outputs = outputs.averaged(with: try run(Self.mirrored(input, width: card.inputWidth)).mirrored())
        }
        return try outputs.activated(by: card)
    }

    private func run(_ input: [Float]) throws -> RawOutputs {
        let session = try checkOut()
        defer { checkIn(session) }
        let feeds = [card.input.name: Tensor(shape: card.input.shape, data: input)]
        let out: [String: Tensor]
        if let budget {
            let minimum = threadsPerSession
            out = try session.run(feeds, threadsPerStep: { budget.share(minimum: minimum) })
        } else {
            out = try session.run(feeds)
        }
        let heads = card.heads
        guard let mask = out[heads.mask.output], let classes = out[heads.classes.output], classes.count == card.classes.count else {
            throw ReportingError.modelUnusable("outputs do not match the model card")
        }
        let w = mask.shape.last ?? card.inputWidth
        return RawOutputs(mask: mask.data, width: w, height: mask.count / max(1, w), classes: classes.data.map(Double.init))
    }

    /// The mask and class outputs as the network gave them, before the heads' activations.
    struct RawOutputs {
        var mask: [Float]
        var width: Int, height: Int
        var classes: [Double]

        func mirrored() -> RawOutputs {
            RawOutputs(mask: LesionModel.mirrored(mask, width: width), width: width, height: height, classes: classes)
        }

        func averaged(with other: RawOutputs) -> RawOutputs {
            RawOutputs(mask: zip(mask, other.mask).map { ($0 + $1) / 2 }, width: width, height: height,
                       classes: zip(classes, other.classes).map { ($0 + $1) / 2 })
        }

        func activated(by card: ModelCard) throws -> ModelPrediction {
            let heads = card.heads
            let probabilities = heads.mask.activation == "sigmoid" ? mask.map { 1 / (1 + expf(-$0)) } : mask
            var scores = classes
            if let stacker = card.classStacker {
                scores = stacker.probabilities(logits: classes, maskProbabilities: probabilities)
            } else if heads.classes.activation == "softmax" {
                scores = LesionModel.softmax(scores, temperature: heads.classes.temperature ?? 1)
            }
            return ModelPrediction(probabilities: try ProbabilityMap(width: width, height: height, values: probabilities),
                                   classProbabilities: scores)
        }
    }

    static func softmax(_ logits: [Double], temperature: Double) -> [Double] {
        let scaled = logits.map { $0 / temperature }
        let top = scaled.max() ?? 0
        let e = scaled.map { exp($0 - top) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }

    /// Rows mirrored left to right.
    static func mirrored(_ values: [Float], width: Int) -> [Float] {
        var out = values
        for start in stride(from: 0, to: values.count, by: width) {
            for x in 0..<width { out[start + x] = values[start + width - 1 - x] }
        }
        return out
    }

    /// Sessions planned and not in use (for tests).
    var idleSessionCount: Int { lock.lock(); defer { lock.unlock() }; return idle.count }

    private func checkOut() throws -> InferenceSession {
        lock.lock()
        if let s = idle.popLast() { lock.unlock(); return s }
        lock.unlock()
        return try InferenceSession(sharingKernelsOf: first, threads: first.threads)
    }

    private func checkIn(_ s: InferenceSession) {
        lock.lock(); idle.append(s); lock.unlock()
    }
}
