import Foundation

/// Random access to the bytes the scanner checks: a file read in windows (a cine loop can be
/// hundreds of MB, and the scanner needs only its headers), or bytes already in memory (tests,
/// inflated Deflated datasets). Reads outside `0..<count` are the scanner's bug, not the
/// input's: it checks every length against `count` before reading.
protocol ByteSource: AnyObject {
    var count: Int { get }
    /// Exactly `length` bytes starting at `offset` (`offset + length <= count`).
    func bytes(at offset: Int, length: Int) throws(DatasetScanError) -> ArraySlice<UInt8>
}

/// Bytes held in memory.
final class MemoryBytes: ByteSource {
    let storage: [UInt8]
    init(_ bytes: [UInt8]) { storage = bytes }
    var count: Int { storage.count }
    func bytes(at offset: Int, length: Int) throws(DatasetScanError) -> ArraySlice<UInt8> {
        storage[offset..<(offset + length)]
    }
}

/// A file read with pread through one cached window: headers lie close together, so most
/// reads are served from the window; skipped values (pixel data) are never read at all.
/// Not for concurrent use (one per scan).
final class FileBytes: ByteSource {
    private let descriptor: Int32
    let count: Int
    private var window: [UInt8] = []
    private var windowStart = 0
    /// Large enough for a dataset's attributes before its pixel data in one read.
    private static let windowSize = 64 * 1024

    init(url: URL) throws(DatasetScanError) {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw .unreadable(reason: String(cString: strerror(errno)))
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .unreadable(reason: reason)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .unreadable(reason: "not a regular file")
        }
        descriptor = fd
        count = Int(info.st_size)
    }

    deinit { close(descriptor) }

    func bytes(at offset: Int, length: Int) throws(DatasetScanError) -> ArraySlice<UInt8> {
        if offset >= windowStart, offset + length <= windowStart + window.count {
            let from = offset - windowStart
            return window[from..<(from + length)]
        }
        let size = min(max(length, Self.windowSize), count - offset)
        var buffer = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = buffer.withUnsafeMutableBytes { raw in
                pread(descriptor, raw.baseAddress! + done, size - done, off_t(offset + done))
            }
            if n < 0 && errno == EINTR { continue }
            // The file shrank under us (or an I/O error): nothing about it can be trusted.
            guard n > 0 else { throw .unreadable(reason: n == 0 ? "the file shrank while it was read" : String(cString: strerror(errno))) }
            done += n
        }
        window = buffer
        windowStart = offset
        return window[0..<length]
    }
}
