import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reading and writing whole frames on a pipe, with a deadline on reads.
enum PipeIO {
    enum Failure: Error {
        /// The other end closed the pipe (the process exited or died).
        case closed
        case deadline
        case io(Int32)
        case oversized(Int)
    }

    static func writeAll(_ fd: Int32, _ data: Data) throws {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw errno == EPIPE ? Failure.closed : Failure.io(errno)
                }
                offset += n
            }
        }
    }

    /// One frame's body; `deadline` nil waits for ever.
    static func readFrame(_ fd: Int32, deadline: DispatchTime?) throws -> Data {
        let header = try readExactly(fd, 4, deadline: deadline)
        let length = Int(header.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }.littleEndian)
        guard length <= WorkerFrame.maxLength else { throw Failure.oversized(length) }
        return try readExactly(fd, length, deadline: deadline)
    }

    private static func readExactly(_ fd: Int32, _ count: Int, deadline: DispatchTime?) throws -> Data {
        var data = Data(count: count)
        var filled = 0
        while filled < count {
            if let deadline {
                let now = DispatchTime.now().uptimeNanoseconds
                guard deadline.uptimeNanoseconds > now else { throw Failure.deadline }
                let ms = Int32(clamping: (deadline.uptimeNanoseconds - now + 999_999) / 1_000_000)
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let r = poll(&p, 1, ms)
                if r < 0 {
                    if errno == EINTR { continue }
                    throw Failure.io(errno)
                }
                if r == 0 { continue } // the loop re-checks the deadline
            }
            let n = data.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, count - filled) }
            if n == 0 { throw Failure.closed }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw Failure.io(errno)
            }
            filled += n
        }
        return data
    }
}
