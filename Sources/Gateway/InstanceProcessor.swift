import Foundation

/// The seam between the gateway and the analysis: the gateway hands each durably spooled
/// instance to an `InstanceProcessor` and delivers whatever objects come back.
/// The gateway knows nothing about models; `wecare serve` plugs in the real processor.
public protocol InstanceProcessor: Sendable {
    /// Name and version of what produced the results; part of every derived UID.
    var producerVersion: String { get }
    /// Analyse one spooled instance and make the objects of `kinds`, what some destination
    /// takes (every kind when there is no destination: then the outbox keeps them); others may
    /// be left out. Throw `ProcessingError` to say whether a retry can help.
    func process(_ instance: ReceivedInstance, making kinds: Set<OutputKind>) async throws -> [ProducedObject]
    /// The objects that tell the PACS the AI analysis of `instance` is unavailable and why
    /// (an SR), for an image that failed for good or was quarantined; empty when none can be made.
    func unavailableReport(_ instance: ReceivedInstance, reason: String) async throws -> [ProducedObject]
}

extension InstanceProcessor {
    public func unavailableReport(_ instance: ReceivedInstance, reason: String) async throws -> [ProducedObject] { [] }
}

/// An instance the gateway has stored in its spool and recorded in its ledger.
public struct ReceivedInstance: Sendable, Equatable, Codable {
    public var sopClassUID: String
    public var sopInstanceUID: String
    public var callingAETitle: String
    /// The received bytes, exactly as the modality sent them (DICOM Part 10 file).
    public var spoolFile: URL

    public init(sopClassUID: String, sopInstanceUID: String, callingAETitle: String, spoolFile: URL) {
        self.sopClassUID = sopClassUID
        self.sopInstanceUID = sopInstanceUID
        self.callingAETitle = callingAETitle
        self.spoolFile = spoolFile
    }
}

/// The kinds of output a destination can ask for in its `outputs` list.
public enum OutputKind: String, Sendable, CaseIterable, Codable {
    case seg, sr, pr, svg
    /// `result.json`; folder destinations get it whatever their `outputs` say.
    case json
}

/// One derived object ready for delivery.
public struct ProducedObject: Sendable, Equatable, Codable {
    public var kind: OutputKind
    /// File name inside a folder destination, e.g. "seg.dcm", "lesion.svg", "result.json".
    public var fileName: String
    public var data: Data
    /// SOP Instance UID for DICOM objects (derived deterministically, so resends replace).
    public var sopInstanceUID: String?

    public init(kind: OutputKind, fileName: String, data: Data, sopInstanceUID: String? = nil) {
        self.kind = kind
        self.fileName = fileName
        self.data = data
        self.sopInstanceUID = sopInstanceUID
    }
}

/// Why processing failed, and whether trying again can help.
public enum ProcessingError: Error, Sendable, Equatable {
    /// Retrying cannot help (e.g. undecodable pixel data); the job is marked failed with the reason.
    case permanent(String)
    /// Retrying may help (e.g. out of memory, model busy); the job is retried with backoff.
    case transient(String)
    /// The analysis killed or hung its worker process; after `[analysis]
    /// quarantine_after_failures` of these the image is quarantined.
    case workerFailed(String)
}
