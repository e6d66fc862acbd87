import CDCMTK
import Foundation
import Logging

/// DCMTK's network warnings and errors: silent by default; `route(to:)` sends them to a swift-log
/// Logger with UIDs replaced by short hashes (no PHI in logs).
public enum DICOMNetworkLog {
    /// Process-wide; pass nil to silence DCMTK again.
    public static func route(to logger: Logger?) {
        LogRoute.shared.set(logger)
        wc_net_set_log_sink(logger == nil ? nil : dcmtkLogSink)
    }

    /// Replaces anything that looks like a DICOM UID (dotted digits, 4+ components) by `uid#<hash>`.
    public static func redact(_ message: String) -> String {
        var result = ""
        var token = ""
        func flush() {
            // A sentence or file-name dot right after a UID is not part of it.
            var trailing = ""
            while token.hasSuffix(".") {
                token.removeLast()
                trailing += "."
            }
            let parts = token.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count >= 4, parts.allSatisfy({ !$0.isEmpty }) {
                result += "uid#" + shortHash(token)
            } else {
                result += token
            }
            result += trailing
            token = ""
        }
        for character in message {
            if character.isASCII && (character.isNumber || character == ".") {
                token.append(character)
            } else {
                flush()
                result.append(character)
            }
        }
        flush()
        return result
    }

    /// FNV-1a 64, first 8 hex digits: stable across runs, enough to correlate log lines.
    static func shortHash(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return String(String(hash, radix: 16).prefix(8))
    }
}

private final class LogRoute: @unchecked Sendable {
    static let shared = LogRoute()
    private let lock = NSLock()
    private var logger: Logger?

    func set(_ logger: Logger?) {
        lock.lock()
        self.logger = logger
        lock.unlock()
    }

    func get() -> Logger? {
        lock.lock()
        defer { lock.unlock() }
        return logger
    }
}

private let dcmtkLogSink: @convention(c) (Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
    level, loggerName, message in
    guard let logger = LogRoute.shared.get(), let message else { return }
    let text = DICOMNetworkLog.redact(String(cString: message))
    let source = loggerName.map { String(cString: $0) } ?? "dcmtk"
    switch level {
    case 5: logger.critical("\(text)", metadata: ["dcmtk": "\(source)"])
    case 4: logger.error("\(text)", metadata: ["dcmtk": "\(source)"])
    default: logger.warning("\(text)", metadata: ["dcmtk": "\(source)"])
    }
}
