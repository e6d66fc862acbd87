import Foundation
import Logging

/// A logger whose records a test can read back: what the operator would see.
final class LogCapture: @unchecked Sendable {
    struct Record {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }
    private let lock = NSLock()
    private var records: [Record] = []

    var logger: Logger {
        var logger = Logger(label: "wecare.test") { _ in Handler(capture: self) }
        logger.logLevel = .debug
        return logger
    }

    var all: [Record] { lock.withLock { records } }

    /// Records whose message contains `text`.
    func matching(_ text: String) -> [Record] { all.filter { $0.message.contains(text) } }

    fileprivate func append(_ record: Record) { lock.withLock { records.append(record) } }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
                 file: String, function: String, line: UInt) {
            capture.append(Record(level: level, message: "\(message)", metadata: metadata.merging(explicit ?? [:]) { $1 }))
        }
    }
}
