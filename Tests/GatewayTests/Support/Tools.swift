import Foundation
import XCTest

/// Running real DICOM tools (dcmtk on PATH) from tests.
enum Tools {
    struct Result {
        var status: Int32
        var output: String
    }

    /// The first executable of that name on PATH that is a real program, not a script:
    /// pip's pynetdicom installs Python apps named storescu/echoscu/storescp that would
    /// otherwise shadow DCMTK's in /usr/local/bin.
    static func path(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(name)"
            guard FileManager.default.isExecutableFile(atPath: p) else { continue }
            if name == "python3" { return p }
            let head = (try? FileHandle(forReadingFrom: URL(fileURLWithPath: p)))?.readData(ofLength: 2) ?? Data()
            if head != Data("#!".utf8) { return p }
        }
        return nil
    }

    static func require(_ names: String...) throws {
        for name in names where path(name) == nil {
            throw XCTSkip("\(name) not on PATH (install the Debian package dcmtk)")
        }
    }

    /// Runs to completion; stdout and stderr together.
    @discardableResult
    static func run(_ name: String, _ arguments: [String], timeout: TimeInterval = 120,
                    environment: [String: String]? = nil) throws -> Result {
        let process = try start(name, arguments, environment: environment)
        let deadline = Date().addingTimeInterval(timeout)
        while process.process.isRunning && Date() < deadline { usleep(10_000) }
        process.stop()
        return Result(status: process.process.terminationStatus, output: process.output())
    }

    final class Running: @unchecked Sendable {
        let process: Process
        private let file: URL
        init(process: Process, file: URL) { self.process = process; self.file = file }
        func output() -> String { (try? String(contentsOf: file, encoding: .utf8)) ?? "" }
        /// SIGKILL: storescp ignores SIGTERM while it waits for associations.
        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    /// Starts in the background; output goes to a temporary file readable at any time.
    static func start(_ name: String, _ arguments: [String], environment: [String: String]? = nil) throws -> Running {
        guard let executable = name.hasPrefix("/") ? name : path(name) else { throw XCTSkip("\(name) not on PATH") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("gwtest-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return Running(process: process, file: log)
    }

    /// A TCP port nobody listens on right now.
    static func freePort() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return UInt16(bigEndian: addr.sin_port)
    }

    static func temporaryDirectory(_ label: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wecare-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Polls until `condition` holds or `timeout` passes (for asynchronous pipelines, not timing).
    static func eventually(timeout: TimeInterval = 30, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    /// The same from async tests: sleeps without holding a cooperative-pool thread the
    /// gateway's own tasks need (the pool is only as wide as the machine has cores).
    static func eventually(timeout: TimeInterval = 30, _ condition: () throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        return try condition()
    }
}
