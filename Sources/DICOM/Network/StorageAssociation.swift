import CDCMTK
import Foundation

/// An association to one peer that stays open between batches of C-STOREs, so a PACS is not
/// asked to negotiate one for every image (about 2.6 ms of `storescp`'s CPU each here).
/// It is reopened when the peer has closed it, when it did not accept a file's own transfer
/// syntax (an uncompressed one for an uncompressed file), or after it broke; `release()` ends
/// it. One caller at a time: a sender takes it, sends, and hands it back (`DICOMDeliverer`
/// keeps the idle ones).
public final class StorageAssociation: @unchecked Sendable {
    public let peer: DICOMPeer
    /// SOP classes proposed besides those of the first batch, so later batches fit too.
    public let alsoPropose: [String]
    private var handle: OpaquePointer?

    public init(peer: DICOMPeer, alsoPropose: [String] = []) {
        self.peer = peer
        self.alsoPropose = alsoPropose
    }

    deinit { release() }

    /// Whether an association is open now (the peer may still have closed it meanwhile).
    public var isOpen: Bool { handle != nil }

    /// Proposes each object's SOP class with its own transfer syntax, plus Explicit/Implicit VR
    /// Little Endian as fallback (used only when the peer refuses the object's own syntax;
    /// converting needs the codecs registered). Nothing is transcoded otherwise.
    /// Association-level failures (connection refused, rejected, TLS) throw `DICOMNetworkError`;
    /// per-object failures land in the outcome (`status` nil, `error` set), also for objects left
    /// unsent after an abort mid-association. Outcomes are in the order of `sources`.
    public func send(_ sources: [StoreSource]) throws -> [StoreOutcome] {
        if sources.isEmpty { return [] }
        let arena = CStringArena()
        let tls = peer.tls.map { $0.cValue(in: arena) }
        let extra: [UnsafePointer<CChar>?] = alsoPropose.map { arena.make($0) }
        var results = [wc_store_result](repeating: wc_store_result(), count: sources.count)
        var error = wc_net_error()
        let kind = StorageSCU.withPeer(peer, arena: arena, tls: tls) { cPeer in
            withStoreSources(sources, arena: arena) { cSources in
                extra.withUnsafeBufferPointer { extraBuffer in
                    results.withUnsafeMutableBufferPointer { resultBuffer in
                        wc_store(&handle, cPeer, cSources, sources.count, extraBuffer.baseAddress, extra.count,
                                 resultBuffer.baseAddress, &error)
                    }
                }
            }
        }
        if kind != Int32(WC_NET_OK) { throw DICOMNetworkError(error, host: peer.host, port: peer.port) }
        return zip(sources, results).map { source, result in
            let uid = String(fixedCString: result.sop_instance_uid)
            let message = String(fixedCString: result.error)
            return StoreOutcome(source: source, sopInstanceUID: uid.isEmpty ? nil : uid,
                                status: result.has_status != 0 ? DIMSEStatus(code: result.status) : nil,
                                error: message.isEmpty ? nil : message)
        }
    }

    public func send(_ files: [URL]) throws -> [StoreOutcome] {
        try send(files.map(StoreSource.file))
    }

    /// A-RELEASE (an abort when the peer does not answer); a later `send` opens a new one.
    public func release() {
        wc_scu_association_release(handle)
        handle = nil
    }
}

/// The sources as C structs for the duration of `body`: paths from the arena, bytes pinned in
/// place (each `Data` is held by `sources` meanwhile).
private func withStoreSources<R>(_ sources: [StoreSource], arena: CStringArena,
                                 _ body: (UnsafePointer<wc_store_source>?) -> R) -> R {
    var cSources: [wc_store_source] = []
    cSources.reserveCapacity(sources.count)
    func next(_ index: Int) -> R {
        if index == sources.count { return cSources.withUnsafeBufferPointer { body($0.baseAddress) } }
        switch sources[index] {
        case .file(let url):
            cSources.append(wc_store_source(file: arena.make(url.path), bytes: nil, length: 0))
            return next(index + 1)
        case .bytes(let data):
            return data.withUnsafeBytes { raw in
                cSources.append(wc_store_source(file: nil, bytes: raw.bindMemory(to: UInt8.self).baseAddress,
                                                length: raw.count))
                return next(index + 1)
            }
        }
    }
    return next(0)
}
