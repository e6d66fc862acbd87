import Foundation

/// What the gateway asks of an analysis worker process, one request at a time.
public enum WorkerRequest: Codable, Sendable {
    /// Analyse a spooled instance and make the objects of these kinds.
    case analyze(ReceivedInstance, kinds: [OutputKind])
    /// Make the report that says the AI analysis of this instance is unavailable, and why.
    case unavailable(ReceivedInstance, reason: String)
    /// An HTTP analysis route (`predict`, `classify`) on a request body saved to `file`.
    case http(route: String, file: URL)
}

/// A worker's answer. The first message a worker sends is `ready` (or `failed` when it cannot
/// start, e.g. the model does not load); then one reply per request.
public enum WorkerReply: Codable, Sendable {
    case ready(producerVersion: String)
    case objects([ProducedObject])
    /// The analysis itself failed, as a `ProcessingError` says (the worker lives on).
    case failed(permanent: Bool, reason: String)
    /// An HTTP answer, rendered by the worker.
    case http(status: Int, body: Data)
}

/// Why a request got no reply from its worker.
public enum WorkerFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The worker died while on this request (a crash, the memory limit): `how` says how.
    case died(String)
    /// The worker did not answer within the time limit and was killed.
    case timedOut(seconds: Double)
    /// No worker could be started (the model does not load, the executable is missing).
    case cannotStart(String)
    /// Every worker is busy and the waiting line is full.
    case busy
    /// The pool is stopping.
    case stopped

    public var description: String {
        switch self {
        case .died(let how): return "the analysis worker died (\(how))"
        case .timedOut(let s): return "the analysis took longer than \(Int(s)) s and its worker was killed"
        case .cannotStart(let why): return "no analysis worker could be started: \(why)"
        case .busy: return "every analysis worker is busy"
        case .stopped: return "the analysis workers are stopping"
        }
    }
}

/// Messages on a worker's pipes: a 4-byte little-endian length, then that many bytes of JSON.
enum WorkerFrame {
    /// Larger frames are refused: a cine's SEG is a few MB, never a gigabyte.
    static let maxLength = 1 << 30

    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let body = try JSONEncoder().encode(value)
        var length = UInt32(body.count).littleEndian
        var frame = Data(bytes: &length, count: 4)
        frame.append(body)
        return frame
    }

    static func decode<T: Decodable>(_ type: T.Type, from body: Data) throws -> T {
        try JSONDecoder().decode(type, from: body)
    }
}
