import CDCMTK
import Foundation

/// Sends Part 10 files by C-STORE and checks peers by C-ECHO.
public enum StorageSCU {
    /// One association; proposes each file's SOP class with its own transfer syntax, plus
    /// Explicit/Implicit VR Little Endian as fallback (used only when the peer refuses the file's own
    /// syntax; converting needs the codecs registered). Nothing is transcoded otherwise.
    /// Association-level failures (connection refused, rejected, TLS) throw `DICOMNetworkError`;
    /// per-file failures land in the outcome (`status` nil, `error` set), also for files left unsent
    /// after an abort mid-association.
    public static func send(_ files: [URL], to peer: DICOMPeer) throws -> [StoreOutcome] {
        if files.isEmpty { return [] }
        let arena = CStringArena()
        let tls = peer.tls.map { $0.cValue(in: arena) }
        let paths: [UnsafePointer<CChar>?] = files.map { arena.make($0.path) }
        var results = [wc_store_result](repeating: wc_store_result(), count: files.count)
        var error = wc_net_error()
        let kind = withPeer(peer, arena: arena, tls: tls) { cPeer in
            paths.withUnsafeBufferPointer { pathBuffer in
                results.withUnsafeMutableBufferPointer { resultBuffer in
                    wc_store_files(cPeer, pathBuffer.baseAddress, files.count, resultBuffer.baseAddress, &error)
                }
            }
        }
        if kind != Int32(WC_NET_OK) { throw DICOMNetworkError(error, host: peer.host, port: peer.port) }
        return zip(files, results).map { file, result in
            let uid = String(fixedCString: result.sop_instance_uid)
            let message = String(fixedCString: result.error)
            return StoreOutcome(file: file, sopInstanceUID: uid.isEmpty ? nil : uid,
                                status: result.has_status != 0 ? DIMSEStatus(code: result.status) : nil,
                                error: message.isEmpty ? nil : message)
        }
    }

    /// C-ECHO; throws when the association fails or the status is not 0000.
    public static func echo(_ peer: DICOMPeer) throws {
        let arena = CStringArena()
        let tls = peer.tls.map { $0.cValue(in: arena) }
        var error = wc_net_error()
        var status: UInt16 = 0
        let kind = withPeer(peer, arena: arena, tls: tls) { wc_echo($0, &status, &error) }
        if kind != Int32(WC_NET_OK) { throw DICOMNetworkError(error, host: peer.host, port: peer.port) }
        if status != 0 { throw DICOMNetworkError.echoFailed(status: status) }
    }

    private static func withPeer<R>(_ peer: DICOMPeer, arena: CStringArena, tls: wc_tls_config?,
                                    _ body: (UnsafePointer<wc_peer>) -> R) -> R {
        TCPNoDelay.ensure()
        func call(_ tlsPointer: UnsafePointer<wc_tls_config>?) -> R {
            var cPeer = wc_peer(called_ae: arena.make(peer.aeTitle), host: arena.make(peer.host), port: peer.port,
                                calling_ae: arena.make(peer.callingAETitle), tls: tlsPointer,
                                timeout_seconds: Int32(clamping: peer.timeoutSeconds))
            return withUnsafePointer(to: &cPeer) { body($0) }
        }
        if var value = tls { return withUnsafePointer(to: &value) { call($0) } }
        return call(nil)
    }
}
