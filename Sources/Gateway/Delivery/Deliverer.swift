import DICOM
import Foundation
import Synchronization

/// One object to hand to a destination.
public struct DeliveryItem: Sendable {
    /// Where the object is stored; not read when `data` is given.
    public var file: URL
    /// The object's bytes when they are in memory (see `OutboxMemory`).
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

/// What became of one object at a destination.
public enum DeliveryOutcome: Sendable, Equatable {
    case delivered
    /// The destination was reached and did not take this object (a failure status, no
    /// presentation context for its SOP class, an unreadable file, an exchange that broke while
    /// this object was on its way): it is retried on its own, counted against `max_attempts`.
    case refused(String)
    /// The destination could not be reached or can take nothing now (connection refused,
    /// association rejected, out of resources, a folder that cannot be written): nothing is wrong
    /// with the object, which waits until the destination is back.
    case unavailable(String)

    /// nil when delivered.
    public var error: String? {
        switch self {
        case .delivered: return nil
        case .refused(let e), .unavailable(let e): return e
        }
    }
}

/// One object's outcome; `error` nil means delivered.
public struct DeliveryResult: Sendable {
    public var item: DeliveryItem
    public var outcome: DeliveryOutcome
    public var error: String? { outcome.error }
}

/// Sends objects to one destination; never throws: each object gets its own outcome.
public protocol Deliverer: Sendable {
    /// Sends `items` in order and reports each outcome through `report` as soon as the
    /// destination confirmed or refused it, before the next object goes: a confirmation the
    /// caller records then is never lost with a crash during a later object. After an outcome
    /// that stops the batch (`unavailable`, or an exchange that broke) the rest are not sent
    /// and not reported.
    func deliver(_ items: [DeliveryItem], report: (Int, DeliveryOutcome) -> Void)
    /// Ends connections idle for longer than the destination keeps them (called now and then).
    func closeIdleConnections(now: Date)
    /// Ends every connection kept open (on stop).
    func closeAllConnections()
}

extension Deliverer {
    public func closeIdleConnections(now: Date) {}
    public func closeAllConnections() {}

    /// Every item's outcome at once (`wecare send`, tests); objects left unsent say so.
    public func deliver(_ items: [DeliveryItem]) -> [DeliveryResult] {
        var outcomes = [DeliveryOutcome?](repeating: nil, count: items.count)
        deliver(items) { index, outcome in outcomes[index] = outcome }
        return zip(items, outcomes).map {
            DeliveryResult(item: $0, outcome: $1 ?? .unavailable("not sent: an earlier object's failure stopped the batch"))
        }
    }
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

    /// The files of one source instance share a folder and one directory sync. A file that
    /// cannot be read is the object's fault; a folder that cannot be written is the
    /// destination's, and stops the batch.
    public func deliver(_ items: [DeliveryItem], report: (Int, DeliveryOutcome) -> Void) {
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
                    report(index, .refused("cannot read the object: \(error)"))
                }
            }
            do {
                try DurableFile.write(files, into: folder)
            } catch {
                if let first = readable.first { report(first, .unavailable("\(error)")) }
                return
            }
            for index in readable { report(index, .delivered) }
        }
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

    /// One C-STORE at a time over the batch's association, each reported as its response
    /// arrives, so the caller records every confirmation before the next object goes.
    public func deliver(_ items: [DeliveryItem], report: (Int, DeliveryOutcome) -> Void) {
        if items.isEmpty { return }
        // Taking from the pool and counting an opening happen under one lock, so a sender
        // handing back sees every opening that found the pool empty.
        let kept = pool.withLock { p -> StorageAssociation? in
            if let kept = p.idle.popLast()?.association { return kept }
            p.opening += 1
            return nil
        }
        let association = kept ?? StorageAssociation(peer: peer, alsoPropose: Self.outputSOPClasses)
        for (index, item) in items.enumerated() {
            let outcome: DeliveryOutcome
            do {
                let answers = try association.send([item.data.map(StoreSource.bytes) ?? .file(item.file)])
                outcome = answers.first.map(Self.outcome) ?? .unavailable("no answer from the peer for this object")
            } catch {
                outcome = .unavailable("\(error)")
            }
            report(index, outcome)
            if Self.stopsTheBatch(outcome) { break }
        }
        let keep = pool.withLock { p -> Bool in
            if kept == nil { p.opening -= 1 }
            guard keepAssociationSeconds > 0, association.isOpen, p.opening == 0 else { return false }
            p.idle.append((association, Date()))
            return true
        }
        if !keep { association.release() }
    }

    /// A status answers for the object, except "out of resources" (A7xx), which the PACS says
    /// of itself. Without a status the object was not taken: when the exchange broke while it
    /// was on its way it counts as refused (a PACS that aborts on one object must not hold up
    /// the others; a PACS that went away shows at the next association), otherwise (no
    /// presentation context for its SOP class, unreadable) it is the object's too.
    static func outcome(_ answer: StoreOutcome) -> DeliveryOutcome {
        if let status = answer.status {
            if status.isSuccessOrWarning { return .delivered }
            let detail = ["peer answered status \(status.hex)", answer.error].compactMap { $0 }.joined(separator: ": ")
            return status.code & 0xFF00 == 0xA700 ? .unavailable(detail) : .refused(detail)
        }
        return .refused(answer.error ?? "no status")
    }

    /// After these the association is gone or the PACS takes nothing: the rest wait.
    private static func stopsTheBatch(_ outcome: DeliveryOutcome) -> Bool {
        switch outcome {
        case .delivered: return false
        case .unavailable: return true
        case .refused(let why): return why.hasPrefix("C-STORE failed") || why.hasPrefix("not sent")
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
