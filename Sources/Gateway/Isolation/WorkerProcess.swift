import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One analysis worker: a child process of the gateway (`wecare worker`) that reads requests on
/// its standard input and writes replies on its standard output; its standard error is the
/// gateway's. Not thread-safe: the pool lends it to one caller at a time.
final class WorkerProcess {
    let pid: pid_t
    private let toChild: Int32
    private let fromChild: Int32
    private var reaped = false

    /// Starts the process; it loads its model and says `ready` (see `awaitReady`).
    init(executable: String, arguments: [String]) throws {
        var toPipe: [Int32] = [-1, -1], fromPipe: [Int32] = [-1, -1]
        guard pipe(&toPipe) == 0 else { throw WorkerFailure.cannotStart("pipe: \(String(cString: strerror(errno)))") }
        guard pipe(&fromPipe) == 0 else {
            close(toPipe[0]); close(toPipe[1])
            throw WorkerFailure.cannotStart("pipe: \(String(cString: strerror(errno)))")
        }
        // Close-on-exec, so another worker spawned meanwhile does not inherit these ends (pipe2
        // would do it at once, but Swift's Glibc module does not declare it).
        for fd in toPipe + fromPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on the copies; every other descriptor of the gateway
        // (the DICOM listener, sockets, the ledger) is closed in the child before exec.
        posix_spawn_file_actions_adddup2(&actions, toPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromPipe[1], 1)
        if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // No crash backtrace from a worker: Swift's prints registers and the memory they point
        // at, which may hold patient data; the gateway logs how the worker ended instead.
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, nil, argv, envp)
        close(toPipe[0])
        close(fromPipe[1])
        guard rc == 0 else {
            close(toPipe[1]); close(fromPipe[0])
            throw WorkerFailure.cannotStart("\(executable): \(String(cString: strerror(rc)))")
        }
        pid = child
        toChild = toPipe[1]
        fromChild = fromPipe[0]
    }

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34+), which Swift's Glibc module
    /// does not declare; without it the worker closes what it inherited itself (`WorkerLoop`).
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    deinit {
        kill()
        close(toChild)
        close(fromChild)
    }

    /// Waits for the worker's first message; returns the producer version it reports.
    func awaitReady(timeout: Double) throws -> String {
        switch try receive(deadline: .now() + timeout, timeoutSeconds: timeout) {
        case .ready(let version): return version
        case .failed(_, let reason): throw WorkerFailure.cannotStart(reason)
        default: throw WorkerFailure.cannotStart("the worker spoke out of turn")
        }
    }

    /// Sends one request and waits for its reply. After a `WorkerFailure` the process is gone.
    func call(_ request: WorkerRequest, timeout: Double) throws -> WorkerReply {
        do {
            try PipeIO.writeAll(toChild, try WorkerFrame.encode(request))
        } catch PipeIO.Failure.closed {
            throw WorkerFailure.died(exitDescription())
        }
        return try receive(deadline: .now() + timeout, timeoutSeconds: timeout)
    }

    private func receive(deadline: DispatchTime, timeoutSeconds: Double) throws -> WorkerReply {
        let body: Data
        do {
            body = try PipeIO.readFrame(fromChild, deadline: deadline)
        } catch PipeIO.Failure.deadline {
            kill()
            throw WorkerFailure.timedOut(seconds: timeoutSeconds)
        } catch {
            throw WorkerFailure.died(exitDescription())
        }
        do {
            return try WorkerFrame.decode(WorkerReply.self, from: body)
        } catch {
            kill()
            throw WorkerFailure.died("it sent a reply that could not be read: \(error)")
        }
    }

    /// SIGKILL and reap; idempotent.
    func kill() {
        guard !reaped else { return }
        _ = Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        reaped = true
    }

    /// After its pipe closed: reaps the process and says how it ended.
    private func exitDescription() -> String {
        guard !reaped else { return "killed" }
        var status: Int32 = 0
        var r: pid_t
        repeat { r = waitpid(pid, &status, 0) } while r < 0 && errno == EINTR
        reaped = true
        guard r == pid else { return "its pipe closed" }
        let signal = status & 0x7f
        if signal != 0 {
            let name = strsignal(signal).map { String(cString: $0) } ?? "signal"
            return "signal \(signal), \(name)"
        }
        return "exit status \((status >> 8) & 0xff)"
    }
}
