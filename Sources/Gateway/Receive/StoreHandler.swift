import DICOM
import Foundation
import Logging

/// The gateway's answers to the Storage SCP: who may associate, and the durability contract:
/// 0000 only once the bytes are fsynced in the spool and the ledger row is committed.
final class StoreHandler: StorageSCPDelegate, @unchecked Sendable {
    // Immutable after init except `onReceived`, which is set before the SCP starts.
    private let listener: ListenerSettings
    private let modalities: [String: ModalitySettings]
    private let spool: Spool
    private let ledger: Ledger
    private let minFreeBytes: UInt64
    private let metrics: GatewayMetrics
    private let logger: Logger
    private let commitGate = InstanceCommitGate()
    /// Told about each newly recorded job (wakes the workers).
    var onReceived: @Sendable () -> Void = {}

    init(listener: ListenerSettings, modalities: [ModalitySettings], spool: Spool, ledger: Ledger,
         minFreeBytes: UInt64, metrics: GatewayMetrics, logger: Logger) {
        self.listener = listener
        self.modalities = Dictionary(modalities.map { ($0.aeTitle, $0) }, uniquingKeysWith: { a, _ in a })
        self.spool = spool
        self.ledger = ledger
        self.minFreeBytes = minFreeBytes
        self.metrics = metrics
        self.logger = logger
    }

    func associationRequested(_ request: AssociationRequest) -> AssociationRejection? {
        let called = request.calledAETitle.trimmingCharacters(in: .whitespaces)
        let calling = request.callingAETitle.trimmingCharacters(in: .whitespaces)
        var log = logger
        log[metadataKey: "calling_ae"] = "\(calling)"
        log[metadataKey: "peer"] = "\(request.peerAddress)"
        if called != listener.aeTitle {
            log.notice("association refused: called AE title is not ours", metadata: ["called_ae": "\(called)"])
            metrics.associationRejected(reason: "called_ae")
            return .calledAETitleNotRecognized
        }
        if let modality = modalities[calling] {
            if let host = modality.host, host != request.peerAddress {
                log.notice("association refused: modality came from an address other than its configured host")
                metrics.associationRejected(reason: "calling_host")
                return .callingAETitleNotRecognized
            }
        } else if !listener.acceptUnknownModalities {
            log.notice("association refused: calling AE title is not a configured [[modality]]")
            metrics.associationRejected(reason: "calling_ae")
            return .callingAETitleNotRecognized
        }
        metrics.associationsTotal.increment()
        metrics.associationsActive.increment()
        return nil
    }

    func storeRequested(_ command: StoreCommand) -> StoreDisposition {
        // Decide before any byte arrives, so a refusal never leaves half a file behind.
        if let free = DurableFile.freeBytes(at: spool.root), free < minFreeBytes {
            logger.warning("store refused: free disk below min_free_disk_mb",
                           metadata: ["free_mb": "\(free / 1_048_576)", "instance": "\(UIDHash.short(command.affectedSOPInstanceUID))"])
            return answered(.discard(StoreAnswer(.outOfResources, comment: Self.diskFull)))
        }
        // A known SOP Instance UID is received too: only its content tells a true duplicate
        // (0000) from another dataset under the same UID (refused), and draining a dataset
        // would have DCMTK parse it in memory, unchecked.
        return .receive(into: spool.temporaryFile())
    }

    private func answered(_ disposition: StoreDisposition) -> StoreDisposition {
        if case .discard(let answer) = disposition { metrics.instanceAnswered(answer.status) }
        return disposition
    }

    /// Error Comments of the answers that are the gateway's own trouble, not the dataset's: the
    /// modality may send again later.
    static let diskFull = "gateway disk below its floor; send again later"
    static let notStored = "the gateway could not store the dataset; send again later"

    func storeReceived(_ command: StoreCommand, dataset: ReceivedDataset?, error: String?) -> StoreAnswer {
        let answer = decide(command, dataset: dataset, error: error)
        metrics.instanceAnswered(answer.status)
        return answer
    }

    private func decide(_ command: StoreCommand, dataset: ReceivedDataset?, error: String?) -> StoreAnswer {
        let hash = UIDHash.short(command.affectedSOPInstanceUID)
        guard let dataset else {
            logger.warning("store failed while receiving", metadata: ["instance": "\(hash)", "error": "\(error ?? "unknown")"])
            // The shim reports write failures and broken streams alike; neither may be answered 0000.
            return error.map { $0.lowercased().contains("write") || $0.lowercased().contains("space") } == true
                ? StoreAnswer(.outOfResources, comment: Self.notStored)
                : StoreAnswer(.cannotUnderstand, comment: "the dataset stream broke off")
        }
        let temporary = dataset.file
        func discard() { try? FileManager.default.removeItem(at: temporary) }
        let scan: DatasetScan
        switch StoreRefusal.check(command, dataset) {
        case .failure(let refusal):
            discard()
            return refused(refusal, instance: hash)
        case .success(let s):
            scan = s
        }
        let sopInstance = command.affectedSOPInstanceUID
        let contentHash: String
        do {
            contentHash = try InstanceContentHash.sha256(of: temporary, from: scan.datasetOffset)
        } catch {
            discard()
            logger.error("store failed: cannot read the received file back", metadata: ["instance": "\(hash)", "error": "\(error)"])
            return StoreAnswer(.outOfResources, comment: Self.notStored)
        }
        return commitGate.exclusive(sopInstance) {
            do {
                if let existing = try ledger.instance(sopInstanceUID: sopInstance) {
                    // Already durable and queued once; nothing of that first copy is touched.
                    discard()
                    if let stored = existing.datasetSHA256, stored != contentHash {
                        return refused(.contentConflict, instance: hash)
                    }
                    logger.info("duplicate instance acknowledged", metadata: ["instance": "\(hash)"])
                    return .success
                }
                let relative = try spool.commit(temporary, sopInstanceUID: sopInstance)
                let outcome = try ledger.recordReceived(NewInstance(
                    sopInstanceUID: sopInstance, sopClassUID: command.affectedSOPClassUID,
                    studyInstanceUID: scan.attributes.studyInstanceUID, callingAETitle: command.callingAETitle,
                    transferSyntaxUID: command.transferSyntaxUID, spoolPath: relative, sizeBytes: Int64(scan.fileSize),
                    datasetSHA256: contentHash), now: Date())
                if case .recorded(let jobID) = outcome {
                    logger.info("instance received", metadata: ["instance": "\(hash)", "job": "\(jobID)", "bytes": "\(scan.fileSize)"])
                    onReceived()
                }
                return .success
            } catch {
                discard()
                logger.error("store failed: could not make the instance durable", metadata: ["instance": "\(hash)", "error": "\(error)"])
                return StoreAnswer(.outOfResources, comment: Self.notStored)
            }
        }
    }

    /// Logs (warning: the modality is told the image was not stored) and counts a refusal.
    private func refused(_ refusal: StoreRefusal, instance hash: String) -> StoreAnswer {
        logger.warning("store refused: \(refusal.message)",
                       metadata: ["instance": "\(hash)", "reason": "\(refusal.reason)", "status": "\(refusal.status.hex)"])
        metrics.instanceRefused(reason: refusal.reason)
        return refusal.answer
    }

    /// Called once for every association `associationRequested` counted, so the gauge is exact.
    func associationEnded(id: UInt64, callingAETitle: String, end: AssociationEnd) {
        metrics.associationsActive.decrement()
        var log = logger
        log[metadataKey: "association"] = "\(id)"
        log[metadataKey: "calling_ae"] = "\(callingAETitle)"
        switch end {
        case .released:
            break
        case .aborted:
            log.notice("association aborted")
        case .noAcceptablePresentationContext:
            log.notice("association refused: none of the proposed SOP classes or transfer syntaxes is accepted; the modality must send US Image or US Multi-frame Image Storage in an accepted transfer syntax")
            metrics.associationRejected(reason: "no_presentation_context")
        case .refused:
            log.notice("association refused by DCMTK after the AE titles were accepted (e.g. an unknown application context)")
            metrics.associationRejected(reason: "toolkit")
        }
    }

    /// Connections that never became an association request: logged once each with the peer.
    func connectionFailed(_ failure: ConnectionFailure) {
        metrics.connectionFailed(reason: failure.reason.label)
        var log = logger
        log[metadataKey: "peer"] = "\(failure.peerAddress.isEmpty ? "unknown" : failure.peerAddress)"
        log[metadataKey: "reason"] = "\(failure.reason.label)"
        log[metadataKey: "detail"] = "\(DICOMNetworkLog.redact(failure.message))"
        switch failure.reason {
        case .closedBeforeRequest:
            log.info("connection closed before an association request (port probe or health check)")
        case .deadlineExpired:
            log.notice("connection cut: no association request within acse_timeout_seconds (silent or too slow client)")
        case .tlsHandshakeFailed:
            log.notice("connection refused: TLS handshake failed (no or untrusted client certificate, or not TLS)")
        case .malformedPDU:
            log.notice("connection refused: not a valid DICOM association request")
        case .associationLimit:
            log.notice("association refused: max_associations are busy (answered transient, local limit exceeded)")
        case .handshakeLimit:
            log.notice("connection closed: too many connections are negotiating at once (max_associations)")
        case .stopping:
            log.info("connection closed: the gateway is stopping")
        case .networkError:
            log.warning("accepting a connection failed")
        }
    }
}
