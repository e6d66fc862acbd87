import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The worker side: what `wecare worker` runs in its process. Reads requests on standard input
/// and answers each on standard output until the gateway closes the pipe.
public enum WorkerLoop {
    /// What the worker does with each request; errors are turned into `failed` replies.
    public typealias Handler = @Sendable (WorkerRequest) async throws -> WorkerReply

    /// Limits the process before anything else runs: its address space, and no descriptor but
    /// standard input, output and error (none of the gateway's sockets or files).
    public static func confine(memoryBytes: UInt64) {
        closeInheritedDescriptors()
        var limit = rlimit(rlim_cur: rlim_t(memoryBytes), rlim_max: rlim_t(memoryBytes))
        _ = setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit)
        // No PR_SET_PDEATHSIG: it fires when the *thread* that spawned the worker ends, and the
        // pool spawns replacements from short-lived threads. A worker whose gateway is gone
        // reads end-of-file on its standard input and exits (see `run`).
    }

    /// `start` loads the analysis (its error is sent as a `failed` first message, and the
    /// worker exits); then requests are served one at a time.
    public static func run(start: () throws -> (producerVersion: String, handler: Handler)) async -> Int32 {
        let loaded: (producerVersion: String, handler: Handler)
        do {
            loaded = try start()
        } catch {
            send(.failed(permanent: true, reason: "\(error)"))
            return 3
        }
        send(.ready(producerVersion: loaded.producerVersion))
        while true {
            let body: Data
            do {
                body = try PipeIO.readFrame(0, deadline: nil)
            } catch {
                return 0 // the gateway closed the pipe: stopping
            }
            let reply: WorkerReply
            do {
                let request = try WorkerFrame.decode(WorkerRequest.self, from: body)
                reply = try await loaded.handler(request)
            } catch ProcessingError.permanent(let reason) {
                reply = .failed(permanent: true, reason: reason)
            } catch ProcessingError.transient(let reason) {
                reply = .failed(permanent: false, reason: reason)
            } catch {
                reply = .failed(permanent: false, reason: "\(error)")
            }
            send(reply)
        }
    }

    private static func send(_ reply: WorkerReply) {
        do {
            try PipeIO.writeAll(1, try WorkerFrame.encode(reply))
        } catch {
            exit(0) // nobody to answer to
        }
    }

    /// Normally the gateway spawned us with nothing but 0, 1 and 2 open. Where its libc could
    /// not arrange that, close the sockets, files and pipes inherited from it, and leave the
    /// runtime's own event descriptors (epoll, eventfd: no file type) alone.
    private static func closeInheritedDescriptors() {
        for fd in Int32(3)..<1024 {
            var st = stat()
            guard fstat(fd, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFSOCK, S_IFREG, S_IFDIR, S_IFIFO: close(fd)
            default: break
            }
        }
    }
}
