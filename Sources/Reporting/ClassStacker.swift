import Foundation

/// The class decision that reads the predicted mask beside the network's class logits: a
/// multinomial logistic regression fitted on the out-of-fold predictions
/// (`weights/training/stack_cv.py`, card key `class_stacker`). The network's own head calls many
/// benign images normal although its mask found the lesion; three statistics of the mask say so.
///
/// The features are computed exactly as the training script computes them, at model resolution
/// and with the stacker's own mask threshold (the one it was fitted with, not an admin's
/// `[analysis] threshold`).
public struct ClassStacker: Codable, Sendable, Equatable {
    /// The feature order the regression's weights are written in; a card naming anything else
    /// was made for another version of this code.
    public static let featureNames = ["logit_normal", "logit_benign", "logit_malignant",
                                      "sqrt_mask_fraction", "max_probability", "has_mask"]

    public var features: [String]
    public var maskThreshold: Double
    public var minAreaFraction: Double
    public var mean: [Double]
    public var sd: [Double]
    /// features x classes.
    public var weights: [[Double]]
    public var bias: [Double]
    public var temperature: Double

    enum CodingKeys: String, CodingKey {
        case features, mean, sd, weights, bias, temperature
        case maskThreshold = "mask_threshold"
        case minAreaFraction = "min_area_fraction"
    }

    /// Why this stacker cannot serve a card with `classes`, or nil when it can.
    func problem(classes: [String]) -> String? {
        if features != Self.featureNames { return "features must be \(Self.featureNames) in that order, not \(features)" }
        if classes != ["normal", "benign", "malignant"] { return "needs the classes normal, benign, malignant" }
        let n = features.count
        if mean.count != n || sd.count != n || weights.count != n || weights.contains(where: { $0.count != classes.count })
            || bias.count != classes.count {
            return "mean and sd need \(n) values, weights \(n) rows of \(classes.count), bias \(classes.count)"
        }
        if sd.contains(where: { !($0 > 0) }) || !(temperature > 0) { return "sd and temperature must be positive" }
        if !(0...1).contains(maskThreshold) || !(0...1).contains(minAreaFraction) {
            return "mask_threshold and min_area_fraction must be in 0...1"
        }
        return nil
    }

    /// Class probabilities (normal, benign, malignant) from the raw class logits and the mask's
    /// probability map, both as the flip-averaged network gave them.
    public func probabilities(logits: [Double], maskProbabilities: [Float]) -> [Double] {
        let x = featureRow(logits: logits, maskProbabilities: maskProbabilities)
        var scores = bias
        for (i, value) in x.enumerated() {
            let standardised = (value - mean[i]) / sd[i]
            for c in scores.indices { scores[c] += standardised * weights[i][c] }
        }
        return LesionModel.softmax(scores, temperature: temperature)
    }

    func featureRow(logits: [Double], maskProbabilities: [Float]) -> [Double] {
        let centre = logits.reduce(0, +) / Double(max(1, logits.count))
        let threshold = Float(maskThreshold)
        var above = 0
        var top: Float = 0
        for p in maskProbabilities {
            if p >= threshold { above += 1 }
            top = max(top, p)
        }
        let fraction = Double(above) / Double(max(1, maskProbabilities.count))
        return logits.map { $0 - centre } + [fraction.squareRoot(), Double(top), fraction >= minAreaFraction ? 1 : 0]
    }
}
