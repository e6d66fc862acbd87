import DICOM
import Foundation
import Synchronization

/// One object to hand to a destination.
public struct DeliveryItem: Sendable {
    /// Where the object is stored; not read when `data` is given.
    public var file: URL
    /// The object's bytes when they are in memory (see `Outbox`).
    public var data: Data?
    public var fileName: String
    public var kind: OutputKind
    /// Folder layout keys; nil study goes to `unknown-study`.
    public var studyInstanceUID: String?
    public var sourceSOPInstanceUID: String?

    public init(file: URL, data: Data? = nil, fileName: String, kind: OutputKind, studyInstanceUID: String?,
                sourceSOPInstanceUID: String?) {
        self.file = file
        self.data = data
        self.fileName = fileName
        self.kind = kind
        self.studyInstanceUID = studyInstanceUID
        self.sourceSOPInstanceUID = sourceSOPInstanceUID
    }
}

/// nil error means delivered.
public struct DeliveryResult: Sendable {
    public var item: DeliveryItem
    public var error: String?
}

/// Sends a batch of objects to one destination; never throws: each item gets its own result.
public protocol Deliverer: Sendable {
    func deliver(_ items: [DeliveryItem]) -> [DeliveryResult]
    /// Ends connections idle for longer than the destination keeps them (called now and then).
    func closeIdleConnections(now: Date)
    /// Ends every connection kept open (on stop).
    func closeAllConnections()
}

extension Deliverer {
    public func closeIdleConnections(now: Date) {}
    public func closeAllConnections() {}
}

public enum Deliverers {
    public static func make(_ destination: DestinationSettings) -> Deliverer {
        switch destination.kind {
        case .folder(let path): return FolderDeliverer(root: path)
        case .dicom(let settings):
            return DICOMDeliverer(peer: settings.peer, keepAssociationSeconds: TimeInterval(settings.keepAssociationSeconds))
        }
    }
}

extension TLSSettings {
    var dicom: TLSConfiguration {
        TLSConfiguration(certificateFile: certificateFile, privateKeyFile: privateKeyFile,
                         trustedCertificatesFile: trustedCertificatesFile, requirePeerCertificate: requirePeerCertificate)
    }
}

extension DICOMDestinationSettings {
    public var peer: DICOMPeer {
        DICOMPeer(aeTitle: aeTitle, host: host, port: port, callingAETitle: callingAETitle, tls: tls?.dicom,
                  timeoutSeconds: timeoutSeconds)
    }
}

/// `<root>/<study-hash>/<sop-hash>/<file>`, each file written atomically (tmp, fsync, rename).
public struct FolderDeliverer: Deliverer {
    public var root: URL
    public init(root: URL) { self.root = root }

    public func directory(for item: DeliveryItem) -> URL {
        root.appendingPathComponent(item.studyInstanceUID.map(UIDHash.short) ?? "unknown-study")
            .appendingPathComponent(item.sourceSOPInstanceUID.map(UIDHash.short) ?? "unknown-instance")
    }

    /// The files of one source instance share a folder and one directory sync.
    public func deliver(_ items: [DeliveryItem]) -> [DeliveryResult] {
        var errors = [String?](repeating: nil, count: items.count)
        var groups: [URL: [Int]] = [:]
        var order: [URL] = []
        for (index, item) in items.enumerated() {
            let folder = directory(for: item)
            if groups[folder] == nil { order.append(folder) }
            groups[folder, default: []].append(index)
        }
        for folder in order {
            var files: [(name: String, data: Data)] = []
            var readable: [Int] = []
            for index in groups[folder] ?? [] {
                do {
                    files.append((items[index].fileName, try items[index].data ?? Data(contentsOf: items[index].file)))
                    readable.append(index)
                } catch {
                    errors[index] = "\(error)"
                }
            }
            do {
                try DurableFile.write(files, into: folder)
            } catch {
                for index in readable { errors[index] = "\(error)" }
            }
        }
        return zip(items, errors).map { DeliveryResult(item: $0, error: $1) }
    }
}

/// C-STORE of the DICOM objects, a batch over one association. An association stays open for
/// `keepAssociationSeconds` after its batch and serves the next one, so the PACS negotiates
/// once per burst of images rather than once per image. Each sender takes an idle association
/// (or none, and opens one) and hands it back afterwards, unless another sender is opening one
/// meanwhile: then it is released, because a PACS that serves one association at a time would
/// hold the new one back until the idle one ended.
public final class DICOMDeliverer: Deliverer {
    public let peer: DICOMPeer
    public let keepAssociationSeconds: TimeInterval
    /// The SOP classes WeCare writes: proposed on every association, so one opened for a report
    /// alone also carries the next image's segmentation and presentation state.
    static let outputSOPClasses = [SegmentationWriter.segmentationStorage, StructuredReportWriter.comprehensive3DSRStorage,
                                   PresentationStateWriter.grayscaleSoftcopyPresentationStateStorage,
                                   PresentationStateWriter.colorSoftcopyPresentationStateStorage]
    private struct Pool {
        var idle: [(association: StorageAssociation, since: Date)] = []
        var opening = 0
    }
    private let pool = Mutex(Pool())

    public init(peer: DICOMPeer, keepAssociationSeconds: TimeInterval = 0) {
        self.peer = peer
        self.keepAssociationSeconds = keepAssociationSeconds
    }

    deinit { closeAllConnections() }

    /// Associations open and waiting for a batch.
    public var idleAssociationCount: Int { pool.withLock { $0.idle.count } }

    public func deliver(_ items: [DeliveryItem]) -> [DeliveryResult] {
        // Taking from the pool and counting an opening happen under one lock, so a sender
        // handing back sees every opening that found the pool empty.
        let kept = pool.withLock { p -> StorageAssociation? in
            if let kept = p.idle.popLast()?.association { return kept }
            p.opening += 1
            return nil
        }
        let association = kept ?? StorageAssociation(peer: peer, alsoPropose: Self.outputSOPClasses)
        let sent = Result { try association.send(items.map { $0.data.map(StoreSource.bytes) ?? .file($0.file) }) }
        let keep = pool.withLock { p -> Bool in
            if kept == nil { p.opening -= 1 }
            guard keepAssociationSeconds > 0, association.isOpen, p.opening == 0 else { return false }
            p.idle.append((association, Date()))
            return true
        }
        if !keep { association.release() }
        let outcomes: [StoreOutcome]
        switch sent {
        case .success(let o): outcomes = o
        case .failure(let error): return items.map { DeliveryResult(item: $0, error: "\(error)") }
        }
        return items.enumerated().map { index, item in
            guard index < outcomes.count else { return DeliveryResult(item: item, error: "no answer from the peer for this object") }
            let outcome = outcomes[index]
            if let status = outcome.status, status.isSuccessOrWarning { return DeliveryResult(item: item, error: nil) }
            let detail = outcome.status.map { "peer answered status \($0.hex)" } ?? "no status"
            return DeliveryResult(item: item, error: [detail, outcome.error].compactMap { $0 }.joined(separator: ": "))
        }
    }

    public func closeIdleConnections(now: Date) {
        let expired = pool.withLock { p -> [StorageAssociation] in
            let old = p.idle.filter { now.timeIntervalSince($0.since) >= keepAssociationSeconds }.map(\.association)
            p.idle.removeAll { now.timeIntervalSince($0.since) >= keepAssociationSeconds }
            return old
        }
        for association in expired { association.release() }  // outside the lock: A-RELEASE waits for the peer
    }

    public func closeAllConnections() {
        for association in pool.withLock({ p in defer { p.idle.removeAll() }; return p.idle.map(\.association) }) {
            association.release()
        }
    }
}
