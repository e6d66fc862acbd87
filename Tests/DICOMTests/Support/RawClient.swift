import Foundation

/// Hostile and broken clients made of plain sockets: they connect to the SCP and then send
/// nothing, a few bytes, or one byte at a time.
enum RawClient {
    /// A connected TCP socket to 127.0.0.1:port; close it with `close`.
    static func connect(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let error = errno
            close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: error) ?? .ECONNREFUSED)
        }
        return fd
    }

    /// Connects and closes at once, as a port scanner or a TCP health check does.
    static func connectAndClose(port: UInt16, sending payload: String = "") throws {
        let fd = try connect(port: port)
        if !payload.isEmpty { _ = payload.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
        close(fd)
    }

    /// The first bytes of an A-ASSOCIATE-RQ PDU (type 01, a 256-byte body announced): DCMTK waits
    /// for the rest and never times out between single bytes.
    static let associateRequestPrefix: [UInt8] = [0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00]
        + [UInt8](repeating: 0x20, count: 246)
    /// The first bytes of a TLS ClientHello record (a 512-byte record announced).
    static let tlsClientHelloPrefix: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]
        + [UInt8](repeating: 0x00, count: 245)
}

/// A client that sends `bytes` one every `interval` on its own thread until they run out, the
/// server closes the connection, or `stop()`.
final class TricklingClient: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private var _bytesSent = 0
    private var _closedByServer = false
    private var stopped = false
    private let finished = DispatchSemaphore(value: 0)

    init(port: UInt16, bytes: [UInt8], interval: TimeInterval = 0.5) throws {
        fd = try RawClient.connect(port: port)
        Thread { [self] in
            trickle(bytes, interval)
            finished.signal()
        }.start()
    }

    private func trickle(_ bytes: [UInt8], _ interval: TimeInterval) {
        for byte in bytes {
            if lock.withLock({ stopped }) { return }
            var value = byte
            guard send(fd, &value, 1, Int32(MSG_NOSIGNAL)) == 1 else { return markClosed() }
            lock.withLock { _bytesSent += 1 }
            // Waits out the interval, waking early when the server closes the connection.
            var pending = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pending, 1, Int32(interval * 1000)) > 0 {
                var scratch = [UInt8](repeating: 0, count: 512)
                if recv(fd, &scratch, scratch.count, 0) <= 0 { return markClosed() }
            }
        }
    }

    private func markClosed() { lock.withLock { if !stopped { _closedByServer = true } } }

    var bytesSent: Int { lock.withLock { _bytesSent } }
    /// The server ended the connection while bytes were still to be sent.
    var closedByServer: Bool { lock.withLock { _closedByServer } }

    /// Waits until the trickle ended (bytes out, or the server closed); false after `timeout`.
    func waitUntilFinished(timeout: TimeInterval) -> Bool {
        guard finished.wait(timeout: .now() + timeout) == .success else { return false }
        finished.signal() // for later waits
        return true
    }

    /// Stops sending and closes the socket.
    func stop() {
        let wasStopped = lock.withLock { () -> Bool in
            defer { stopped = true }
            return stopped
        }
        if wasStopped { return }
        shutdown(fd, Int32(SHUT_RDWR)) // wakes the thread's poll
        _ = waitUntilFinished(timeout: 5)
        close(fd)
    }
}
