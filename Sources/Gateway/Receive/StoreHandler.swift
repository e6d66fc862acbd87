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
            return answered(.discard(.outOfResources))
        }
        do {
            if try ledger.containsInstance(sopInstanceUID: command.affectedSOPInstanceUID) {
                // Already durable and queued once: acknowledge without storing or processing again.
                logger.info("duplicate instance acknowledged", metadata: ["instance": "\(UIDHash.short(command.affectedSOPInstanceUID))"])
                return answered(.discard(.success))
            }
        } catch {
            logger.error("ledger unavailable, store refused", metadata: ["error": "\(error)"])
            return answered(.discard(.outOfResources))
        }
        return .receive(into: spool.temporaryFile())
    }

    private func answered(_ disposition: StoreDisposition) -> StoreDisposition {
        if case .discard(let status) = disposition { metrics.instanceAnswered(status) }
        return disposition
    }

    func storeReceived(_ command: StoreCommand, dataset: ReceivedDataset?, error: String?) -> DIMSEStatus {
        let status = decide(command, dataset: dataset, error: error)
        metrics.instanceAnswered(status)
        return status
    }

    private func decide(_ command: StoreCommand, dataset: ReceivedDataset?, error: String?) -> DIMSEStatus {
        let hash = UIDHash.short(command.affectedSOPInstanceUID)
        guard let dataset else {
            logger.warning("store failed while receiving", metadata: ["instance": "\(hash)", "error": "\(error ?? "unknown")"])
            // The shim reports write failures and broken streams alike; neither may be answered 0000.
            return error.map { $0.lowercased().contains("write") || $0.lowercased().contains("space") } == true
                ? .outOfResources : .cannotUnderstand
        }
        let temporary = dataset.file
        func discard() { try? FileManager.default.removeItem(at: temporary) }
        guard let sopInstance = dataset.sopInstanceUID, let sopClass = dataset.sopClassUID, !sopInstance.isEmpty else {
            discard()
            logger.warning("store refused: dataset unparsable or without SOP UIDs", metadata: ["instance": "\(hash)"])
            return .cannotUnderstand
        }
        guard sopInstance == command.affectedSOPInstanceUID, sopClass == command.affectedSOPClassUID else {
            discard()
            logger.warning("store refused: dataset UIDs differ from the C-STORE command", metadata: ["instance": "\(hash)"])
            return .dataSetDoesNotMatchSOPClass
        }
        do {
            let size = (try? FileManager.default.attributesOfItem(atPath: temporary.path)[.size] as? NSNumber)?.int64Value ?? 0
            // Another association may have delivered the same instance meanwhile.
            if try ledger.containsInstance(sopInstanceUID: sopInstance) {
                discard()
                return .success
            }
            let relative = try spool.commit(temporary, sopInstanceUID: sopInstance)
            let outcome = try ledger.recordReceived(NewInstance(
                sopInstanceUID: sopInstance, sopClassUID: sopClass, studyInstanceUID: dataset.studyInstanceUID,
                callingAETitle: command.callingAETitle, transferSyntaxUID: command.transferSyntaxUID,
                spoolPath: relative, sizeBytes: size), now: Date())
            if case .recorded(let jobID) = outcome {
                logger.info("instance received", metadata: ["instance": "\(hash)", "job": "\(jobID)", "bytes": "\(size)"])
                onReceived()
            }
            return .success
        } catch {
            discard()
            logger.error("store failed: could not make the instance durable", metadata: ["instance": "\(hash)", "error": "\(error)"])
            return .outOfResources
        }
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
