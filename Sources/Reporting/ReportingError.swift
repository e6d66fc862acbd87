/// What went wrong while analysing an image, and whether retrying can help.
public enum ReportingError: Error, CustomStringConvertible, Equatable {
    case modelCardMissing(String)
    case modelCardInvalid(String, String)
    case modelUnusable(String)
    case unreadableInput(String)
    case unsupportedInput(String)
    case analysisFailed(String)
    case writerFailed(String)

    /// Whether the same input could succeed on a later try (used for the job's retry policy).
    public var isTransient: Bool {
        switch self {
        case .writerFailed: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .modelCardMissing(let p): return "model card \(p) not found: ship the .json beside the .onnx (see weights/README.md)"
        case .modelCardInvalid(let p, let why): return "model card \(p) is invalid: \(why)"
        case .modelUnusable(let why): return "the model cannot be used: \(why)"
        case .unreadableInput(let why): return "input cannot be read: \(why)"
        case .unsupportedInput(let why): return "input is not supported: \(why)"
        case .analysisFailed(let why): return "analysis failed: \(why)"
        case .writerFailed(let why): return "writing a result object failed: \(why)"
        }
    }
}
