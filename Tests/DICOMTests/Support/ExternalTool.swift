import Foundation

/// Finds and runs the command-line tools the network tests use as real peers.
enum ExternalTool {
    struct Result {
        var status: Int32
        var output: String
    }

    enum Failure: Error, CustomStringConvertible {
        case notFound(String)
        case failed(String, Result)
        var description: String {
            switch self {
            case .notFound(let name): return "\(name) not found on PATH (install Debian package dcmtk / openssl / python3-pil)"
            case .failed(let name, let result): return "\(name) exited \(result.status): \(result.output)"
            }
        }
    }

    /// A DCMTK tool from PATH. pynetdicom installs its own `echoscu`/`storescu`/`storescp` scripts that
    /// may come first on PATH: take the first whose `--version` says dcmtk.
    static func dcmtk(_ name: String) throws -> String {
        if let known = cache.lock.withLock({ cache.paths[name] }) { return known }
        for candidate in candidates(name) {
            if let result = try? run(candidate, ["--version"]), result.output.lowercased().contains("dcmtk") {
                cache.lock.withLock { cache.paths[name] = candidate }
                return candidate
            }
        }
        throw Failure.notFound(name)
    }

    private final class Cache: @unchecked Sendable {
        let lock = NSLock()
        var paths: [String: String] = [:]
    }
    private static let cache = Cache()

    /// Any tool from PATH.
    static func find(_ name: String) throws -> String {
        guard let path = candidates(name).first else { throw Failure.notFound(name) }
        return path
    }

    private static func candidates(_ name: String) -> [String] {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }
            .filter { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs to completion (killed after `limit` seconds as a safety net), stdout and stderr together.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], limit: TimeInterval = 120) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + limit, execute: watchdog)
        let data = readToEnd(pipe.fileHandleForReading.fileDescriptor)
        process.waitUntilExit()
        watchdog.cancel()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// FileHandle.readDataToEndOfFile traps on EINTR (swift-corelibs-foundation): read by hand.
    private static func readToEnd(_ fd: Int32) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            data.append(buffer, count: count)
        }
        return data
    }

    /// Like `run` but throws unless the exit status is 0.
    @discardableResult
    static func check(_ executable: String, _ arguments: [String]) throws -> Result {
        let result = try run(executable, arguments)
        guard result.status == 0 else { throw Failure.failed(executable, result) }
        return result
    }

    /// A process left running (a peer); output goes to a file to avoid filling a pipe.
    final class Background {
        let process = Process()
        let log: URL

        init(_ executable: String, _ arguments: [String], log: URL) throws {
            self.log = log
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
        }

        /// Waits for exit and returns status and output.
        func wait() -> Result {
            process.waitUntilExit()
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            return Result(status: process.terminationStatus, output: output)
        }

        /// SIGKILL, not SIGTERM: a child spawned from a thread with signals blocked (libdispatch workers
        /// block them) inherits that mask and would never see SIGTERM.
        func stop() {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
    }
}
