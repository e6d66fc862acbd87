import CDCMTK
import Foundation

/// A pool of DCMTK worker threads receiving C-STORE and C-ECHO; every decision goes to the delegate.
/// Up to `maxAssociations` at once; one more is refused transient "local limit exceeded".
///
/// Underneath (net_scp.cpp): `DcmSCPPool<Worker>` with `Worker: DcmThreadSCP`, but with our own accept
/// loop instead of `DcmSCPPool::listen()`: listen() binds inside its blocking call (so start() could
/// neither report a busy port nor the port picked for 0) and sees a stop request only at its next
/// accept timeout. Ours binds in `start()`, wakes at once on `stop()` and then waits for the workers.
/// TLS is the pool's own 3.6.7 mechanism: a `DcmTLSTransportLayer` on the network and secure accept.
/// Unlike DCMTK's pool, the listener thread only waits for connections: each one gets a handshake
/// thread (up to `maxHandshakes`) that accepts it, does the TLS handshake and reads the
/// A-ASSOCIATE-RQ under one deadline (the ACSE timeout; a watchdog shuts the socket down, so a
/// trickling peer cannot stretch it) before a worker takes over. A silent client so costs one
/// handshake slot for at most the ACSE timeout, never the other modalities. Connections that end
/// before the delegate is asked are reported to `connectionFailed`, once each.
/// Delegate calls come from worker threads, several at once: give each `.receive(into:)` its own path.
public final class StorageSCP: @unchecked Sendable {
    public let configuration: StorageSCPConfiguration
    private let bridge: SCPBridge
    private let handle: OpaquePointer
    private let lock = NSLock()

    public init(configuration: StorageSCPConfiguration, delegate: StorageSCPDelegate) throws {
        TCPNoDelay.ensure()
        self.configuration = configuration
        bridge = SCPBridge(delegate: delegate, validator: configuration.validator)
        let arena = CStringArena()
        var contexts = configuration.presentationContexts.map { context -> wc_presentation_context in
            let syntaxes = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(1, context.transferSyntaxUIDs.count))
            for (index, uid) in context.transferSyntaxUIDs.enumerated() { syntaxes[index] = arena.make(uid) }
            return wc_presentation_context(sop_class_uid: arena.make(context.sopClassUID),
                                           transfer_syntaxes: UnsafePointer(syntaxes),
                                           transfer_syntax_count: context.transferSyntaxUIDs.count)
        }
        defer { contexts.forEach { UnsafeMutablePointer(mutating: $0.transfer_syntaxes)?.deallocate() } }
        let tls = configuration.tls.map { $0.cValue(in: arena) }
        var callbacks = bridge.callbacks
        var error = wc_net_error()
        let created: OpaquePointer? = contexts.withUnsafeMutableBufferPointer { contextBuffer in
            func create(_ tlsPointer: UnsafePointer<wc_tls_config>?) -> OpaquePointer? {
                var config = wc_scp_config(ae_title: arena.make(configuration.aeTitle), port: configuration.port,
                                           max_associations: Int32(clamping: configuration.maxAssociations),
                                           max_handshakes: Int32(clamping: configuration.maxHandshakes),
                                           acse_timeout_seconds: Int32(clamping: configuration.acseTimeoutSeconds),
                                           dimse_timeout_seconds: Int32(clamping: configuration.dimseTimeoutSeconds),
                                           tls: tlsPointer, contexts: UnsafePointer(contextBuffer.baseAddress),
                                           context_count: contextBuffer.count)
                return wc_scp_create(&config, &callbacks, &error)
            }
            if var value = tls { return withUnsafePointer(to: &value) { create($0) } }
            return create(nil)
        }
        guard let created else { throw DICOMNetworkError(error, port: configuration.port) }
        handle = created
    }

    deinit {
        wc_scp_destroy(handle) // stops first; the bridge outlives every callback
    }

    /// Binds and returns once listening; serves on its own threads. Calling it again while running does nothing.
    public func start() throws {
        lock.lock()
        defer { lock.unlock() }
        // Before listening: without a dictionary no message can be read, and loaded here it
        // does not hold up the first image received.
        guard wc_dicom_dictionary_load() == 1 else {
            throw DICOMNetworkError.dataDictionaryMissing(path: ProcessInfo.processInfo.environment["DCMDICTPATH"])
        }
        var error = wc_net_error()
        if wc_scp_start(handle, &error) != Int32(WC_NET_OK) {
            throw DICOMNetworkError(error, port: configuration.port)
        }
    }

    /// Stops accepting, lets open associations finish, returns when done.
    /// An idle association ends at the DIMSE timeout at the latest. `start()` may be called again.
    public func stop() {
        lock.lock()
        defer { lock.unlock() }
        wc_scp_stop(handle)
    }

    /// The port actually bound (the kernel's pick when configured as 0); 0 before `start()`.
    public var boundPort: UInt16 { wc_scp_bound_port(handle) }
}

/// Owns the delegate and turns the shim's C callbacks into delegate calls.
final class SCPBridge: @unchecked Sendable {
    let delegate: StorageSCPDelegate
    let validator: InstanceValidator

    init(delegate: StorageSCPDelegate, validator: InstanceValidator) {
        self.delegate = delegate
        self.validator = validator
    }

    var callbacks: wc_scp_callbacks {
        wc_scp_callbacks(context: Unmanaged.passUnretained(self).toOpaque(),
                         association_requested: scpAssociationRequested,
                         store_requested: scpStoreRequested,
                         store_received: scpStoreReceived,
                         association_ended: scpAssociationEnded,
                         connection_failed: scpConnectionFailed)
    }

    static func from(_ context: UnsafeMutableRawPointer?) -> SCPBridge {
        Unmanaged<SCPBridge>.fromOpaque(context!).takeUnretainedValue()
    }
}

private func string(_ pointer: UnsafePointer<CChar>?) -> String {
    pointer.map { String(cString: $0) } ?? ""
}

private func storeCommand(_ c: UnsafePointer<wc_store_command>) -> StoreCommand {
    StoreCommand(callingAETitle: string(c.pointee.calling_ae), peerAddress: string(c.pointee.peer_address),
                 affectedSOPClassUID: string(c.pointee.sop_class_uid),
                 affectedSOPInstanceUID: string(c.pointee.sop_instance_uid),
                 transferSyntaxUID: string(c.pointee.transfer_syntax_uid),
                 associationID: c.pointee.association_id)
}

private let scpAssociationRequested: @convention(c) (
    UnsafeMutableRawPointer?, UnsafePointer<wc_association_request>?,
    UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?
) -> Int32 = { context, request, result, source, reason in
    guard let request else { return 0 }
    let bridge = SCPBridge.from(context)
    let swiftRequest = AssociationRequest(callingAETitle: string(request.pointee.calling_ae),
                                          calledAETitle: string(request.pointee.called_ae),
                                          peerAddress: string(request.pointee.peer_address))
    guard let rejection = bridge.delegate.associationRequested(swiftRequest) else { return 0 }
    // PS3.8 9.3.4: source 1 = DICOM UL service-user; reasons 1, 3, 7.
    let values: (UInt8, UInt8, UInt8)
    switch rejection {
    case .callingAETitleNotRecognized: values = (1, 1, 3)
    case .calledAETitleNotRecognized: values = (1, 1, 7)
    case .noReasonGiven(let permanent): values = (permanent ? 1 : 2, 1, 1)
    }
    result?.pointee = values.0
    source?.pointee = values.1
    reason?.pointee = values.2
    return 1
}

private let scpStoreRequested: @convention(c) (
    UnsafeMutableRawPointer?, UnsafePointer<wc_store_command>?, UnsafeMutablePointer<CChar>?, Int,
    UnsafeMutablePointer<UInt16>?, UnsafeMutablePointer<CChar>?, Int
) -> Int32 = { context, command, path, capacity, discardStatus, comment, commentCapacity in
    guard let command, let path else { return 0 }
    let bridge = SCPBridge.from(context)
    switch bridge.delegate.storeRequested(storeCommand(command)) {
    case .receive(let url):
        guard copyCString(url.path, into: path, capacity: capacity) else {
            discardStatus?.pointee = DIMSEStatus.outOfResources.code // path too long to hand over
            return 0
        }
        return 1
    case .discard(let answer):
        discardStatus?.pointee = answer.status.code
        if let text = answer.errorComment, let comment { _ = copyCString(text, into: comment, capacity: commentCapacity) }
        return 0
    }
}

private let scpStoreReceived: @convention(c) (
    UnsafeMutableRawPointer?, UnsafePointer<wc_store_command>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?,
    UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, Int
) -> UInt16 = { context, command, file, sopClass, sopInstance, study, error, comment, commentCapacity in
    guard let command else { return DIMSEStatus.cannotUnderstand.code }
    let bridge = SCPBridge.from(context)
    // The shim hands over the written file unparsed (the UID arguments are always NULL): it is
    // scanned and checked here, on this worker thread, before anyone parses it.
    let dataset = file.map { path -> ReceivedDataset in
        let url = URL(fileURLWithPath: String(cString: path))
        let inspection = bridge.validator.inspect(file: url)
        return ReceivedDataset(file: url, scan: inspection.scan, imageFailure: inspection.imageFailure)
    }
    let answer = bridge.delegate.storeReceived(storeCommand(command), dataset: dataset,
                                               error: error.map { String(cString: $0) })
    if let text = answer.errorComment, let comment { _ = copyCString(text, into: comment, capacity: commentCapacity) }
    return answer.status.code
}

/// Copies `text` NUL-terminated into a C buffer of `capacity` bytes; false (nothing copied)
/// when it does not fit.
private func copyCString(_ text: String, into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Bool {
    let utf8 = Array(text.utf8)
    guard utf8.count < capacity else { return false }
    utf8.withUnsafeBufferPointer { bytes in
        UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
    }
    buffer[utf8.count] = 0
    return true
}

private let scpAssociationEnded: @convention(c) (UnsafeMutableRawPointer?, UInt64, UnsafePointer<CChar>?, Int32) -> Void = {
    context, id, callingAE, outcome in
    let end: AssociationEnd
    switch outcome {
    case Int32(WC_ASSOC_RELEASED): end = .released
    case Int32(WC_ASSOC_NO_CONTEXT): end = .noAcceptablePresentationContext
    case Int32(WC_ASSOC_REFUSED): end = .refused
    default: end = .aborted
    }
    SCPBridge.from(context).delegate.associationEnded(id: id, callingAETitle: string(callingAE), end: end)
}

private let scpConnectionFailed: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?) -> Void = {
    context, peer, reason, message in
    let kind: ConnectionFailureReason
    switch reason {
    case Int32(WC_CONN_CLOSED_BEFORE_REQUEST): kind = .closedBeforeRequest
    case Int32(WC_CONN_DEADLINE): kind = .deadlineExpired
    case Int32(WC_CONN_TLS_FAILED): kind = .tlsHandshakeFailed
    case Int32(WC_CONN_MALFORMED_PDU): kind = .malformedPDU
    case Int32(WC_CONN_ASSOCIATION_LIMIT): kind = .associationLimit
    case Int32(WC_CONN_HANDSHAKE_LIMIT): kind = .handshakeLimit
    case Int32(WC_CONN_STOPPING): kind = .stopping
    default: kind = .networkError
    }
    SCPBridge.from(context).delegate.connectionFailed(
        ConnectionFailure(peerAddress: string(peer), reason: kind, message: string(message)))
}
