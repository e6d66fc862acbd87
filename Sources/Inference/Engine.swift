import CBLAS

/// ONNX inference engine (issue 3). Placeholder until the engine lands.
public enum InferenceEngine {}
