import CDCMTK
import Foundation

/// Sends Part 10 files by C-STORE and checks peers by C-ECHO.
public enum StorageSCU {
    /// One association for these files, released afterwards (see `StorageAssociation.send`).
    public static func send(_ files: [URL], to peer: DICOMPeer) throws -> [StoreOutcome] {
        let association = StorageAssociation(peer: peer)
        defer { association.release() }
        return try association.send(files)
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

    static func withPeer<R>(_ peer: DICOMPeer, arena: CStringArena, tls: wc_tls_config?,
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
