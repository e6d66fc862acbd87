import DICOM
import Foundation

/// Everything `conf/gateway.toml` says, validated and with paths resolved.
public struct GatewayConfiguration: Sendable {
    /// The file this was read from (paths in it are relative to its folder).
    public var file: URL
    public var listener: ListenerSettings
    /// Root of the spool, ledger and outbox.
    public var dataDirectory: URL
    /// Below this much free space on `dataDirectory`, stores are refused with A700.
    public var minFreeDiskBytes: UInt64
    public var modalities: [ModalitySettings]
    public var destinations: [DestinationSettings]
    public var http: HTTPSettings
    public var analysis: AnalysisSettings
    public var delivery: DeliverySettings
    /// What is removed when (`[retention]`); every default keeps images 14 days.
    public var retention = RetentionSettings()
    /// `[review]`: the reading room (`wecare serve`'s browser pages for radiologists).
    public var review = ReviewSettings()

    public init(file: URL, listener: ListenerSettings, dataDirectory: URL, minFreeDiskBytes: UInt64,
                modalities: [ModalitySettings], destinations: [DestinationSettings], http: HTTPSettings,
                analysis: AnalysisSettings, delivery: DeliverySettings) {
        self.file = file
        self.listener = listener
        self.dataDirectory = dataDirectory
        self.minFreeDiskBytes = minFreeDiskBytes
        self.modalities = modalities
        self.destinations = destinations
        self.http = http
        self.analysis = analysis
        self.delivery = delivery
    }
}

/// The DICOM listener (`[gateway]` and `[tls]`).
public struct ListenerSettings: Sendable {
    public var aeTitle: String
    public var port: UInt16
    public var maxAssociations: Int
    public var acseTimeoutSeconds: Int
    public var dimseTimeoutSeconds: Int
    /// When false (the shipped default) only AE titles listed as `[[modality]]` may associate.
    public var acceptUnknownModalities: Bool
    public var tls: TLSSettings?

    public init(aeTitle: String, port: UInt16, maxAssociations: Int = 8, acseTimeoutSeconds: Int = 30,
                dimseTimeoutSeconds: Int = 60, acceptUnknownModalities: Bool = false, tls: TLSSettings? = nil) {
        self.aeTitle = aeTitle
        self.port = port
        self.maxAssociations = maxAssociations
        self.acseTimeoutSeconds = acseTimeoutSeconds
        self.dimseTimeoutSeconds = dimseTimeoutSeconds
        self.acceptUnknownModalities = acceptUnknownModalities
        self.tls = tls
    }
}

/// Certificate material for the listener or a DICOM destination (PEM files).
public struct TLSSettings: Sendable, Equatable {
    public var certificateFile: String
    public var privateKeyFile: String
    public var trustedCertificatesFile: String?
    /// Listener: require a client certificate. Destination: verify the PACS certificate.
    public var requirePeerCertificate: Bool

    public init(certificateFile: String, privateKeyFile: String, trustedCertificatesFile: String?, requirePeerCertificate: Bool) {
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.trustedCertificatesFile = trustedCertificatesFile
        self.requirePeerCertificate = requirePeerCertificate
    }
}

/// A modality allowed to send (`[[modality]]`).
public struct ModalitySettings: Sendable, Equatable {
    public var aeTitle: String
    /// When set, associations with this calling AE title must come from this IP address.
    public var host: String?

    public init(aeTitle: String, host: String? = nil) {
        self.aeTitle = aeTitle
        self.host = host
    }
}

/// Where results go (`[[destination]]`).
public struct DestinationSettings: Sendable {
    public enum Kind: Sendable {
        /// A folder tree `<path>/<study-hash>/<sop-hash>/<file>`.
        case folder(path: URL)
        /// A DICOM peer (PACS) reached by C-STORE.
        case dicom(DICOMDestinationSettings)
    }
    public var name: String
    public var kind: Kind
    /// What is sent there; folder destinations also always get `result.json`.
    public var outputs: Set<OutputKind>

    public init(name: String, kind: Kind, outputs: Set<OutputKind>) {
        self.name = name
        self.kind = kind
        self.outputs = outputs
    }

    /// Whether an object of this kind goes to this destination.
    public func wants(_ kind: OutputKind) -> Bool {
        if case .folder = self.kind, kind == .json { return true }
        return outputs.contains(kind)
    }
}

public struct DICOMDestinationSettings: Sendable {
    public var aeTitle: String
    public var host: String
    public var port: UInt16
    /// Our AE title towards this peer (defaults to the listener's).
    public var callingAETitle: String
    public var timeoutSeconds: Int
    public var tls: TLSSettings?
    /// Associations opened to this peer at once: each C-STORE waits for its response, so a
    /// PACS that answers slowly (latency, delayed ACKs) is fed by several in parallel.
    public var maxAssociations: Int
    /// How long an association stays open after its last object, for the next ones; 0 closes
    /// it after each batch.
    public var keepAssociationSeconds: Int

    public init(aeTitle: String, host: String, port: UInt16, callingAETitle: String, timeoutSeconds: Int = 30,
                tls: TLSSettings? = nil, maxAssociations: Int = 2, keepAssociationSeconds: Int = 10) {
        self.aeTitle = aeTitle
        self.host = host
        self.port = port
        self.callingAETitle = callingAETitle
        self.timeoutSeconds = timeoutSeconds
        self.tls = tls
        self.maxAssociations = maxAssociations
        self.keepAssociationSeconds = keepAssociationSeconds
    }
}

/// The HTTP endpoint for health, metrics and the jobs API (`[http]`).
/// `[review]`: the reading room, where radiologists review, correct and sign the AI's results.
public struct ReviewSettings: Sendable {
    public var enabled: Bool
    /// A session ends this long after login (the radiologist logs in again).
    public var sessionLifetimeSeconds: Double
    /// HTTPS on the `[http]` port (PEM files, resolved); nil: plain HTTP, allowed on loopback only.
    public var certificateFile: String?
    public var privateKeyFile: String?
    /// Failed logins for one account (or from one address) before logins are refused for
    /// `loginPauseSeconds`.
    public var failedLoginsBeforePause: Int
    public var loginPauseSeconds: Double
    /// Verifying Organization written into signed reports.
    public var organization: String

    public init(enabled: Bool = false, sessionLifetimeSeconds: Double = 8 * 3600, certificateFile: String? = nil,
                privateKeyFile: String? = nil, failedLoginsBeforePause: Int = 5, loginPauseSeconds: Double = 300,
                organization: String = "") {
        self.enabled = enabled
        self.sessionLifetimeSeconds = sessionLifetimeSeconds
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.failedLoginsBeforePause = failedLoginsBeforePause
        self.loginPauseSeconds = loginPauseSeconds
        self.organization = organization
    }

    /// HTTPS is configured for the HTTP port.
    public var usesTLS: Bool { certificateFile != nil && privateKeyFile != nil }

    /// Whether `address` reaches this machine only (plain HTTP is allowed there).
    public static func isLoopback(_ address: String) -> Bool {
        let a = address.lowercased()
        return a == "localhost" || a == "::1" || a == "[::1]" || a.hasPrefix("127.")
    }
}

public struct HTTPSettings: Sendable {
    public var enabled: Bool
    public var bindAddress: String
    /// 0 picks a free port (tests).
    public var port: Int

    public init(enabled: Bool = true, bindAddress: String = "127.0.0.1", port: Int = 8080) {
        self.enabled = enabled
        self.bindAddress = bindAddress
        self.port = port
    }
}

/// How images are analysed (`[analysis]`); handed to the processor factory.
public struct AnalysisSettings: Sendable {
    /// False: receive-only gateway; jobs wait in the queue until analysis is enabled.
    public var enabled: Bool
    /// The ONNX segmentation model.
    public var model: URL
    /// Images analysed at once.
    public var workers: Int
    /// One single-threaded worker per CPU core: the most images per second (the serial parts of
    /// one image, decoding, tracing, writing, overlap another image's inference).
    public static var defaultWorkers: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
    /// Threads per worker (matrix kernels).
    public var threads: Int
    /// Mask threshold override; nil keeps the model's default.
    public var threshold: Double?
    /// One image's analysis may take this long in its worker process; then the worker is killed.
    public var imageTimeoutSeconds: Double
    /// Address space a worker process may use (RLIMIT_AS); past it the allocation fails and the
    /// worker dies, not the gateway.
    public var workerMemoryBytes: UInt64
    /// An image whose analysis killed or hung its worker this many times is quarantined.
    public var quarantineAfterFailures: Int
    /// Ceiling on Rows x Columns x Frames x Samples per Pixel an image may declare: larger ones
    /// are refused on receive (C000) and by `analyze` / HTTP before any decoder allocates for them.
    public var maxImageSamples: Int
    /// After this many analyses in a row failed for reasons not the image's own (a model that
    /// does not load, workers that cannot start), analysis pauses until a probe succeeds
    /// (`AnalysisBreaker`); 0 never pauses.
    public var pauseAfterFailures: Int

    public init(enabled: Bool = true, model: URL, workers: Int = AnalysisSettings.defaultWorkers, threads: Int = 1,
                threshold: Double? = nil, imageTimeoutSeconds: Double = 120, workerMemoryBytes: UInt64 = 3 << 30,
                quarantineAfterFailures: Int = 2, maxImageSamples: Int = ImageChecks.defaultMaxSamples,
                pauseAfterFailures: Int = 5) {
        self.enabled = enabled
        self.model = model
        self.workers = workers
        self.threads = threads
        self.threshold = threshold
        self.imageTimeoutSeconds = imageTimeoutSeconds
        self.workerMemoryBytes = workerMemoryBytes
        self.quarantineAfterFailures = quarantineAfterFailures
        self.maxImageSamples = maxImageSamples
        self.pauseAfterFailures = pauseAfterFailures
    }
}

/// Retry policy for deliveries and transient analysis failures (`[delivery]`).
public struct DeliverySettings: Sendable {
    public var retryBaseSeconds: Double
    public var retryMaxSeconds: Double
    /// 0 = retry for ever; otherwise a delivery the destination refused this many times is
    /// marked failed (attempts that found the destination down do not count).
    public var maxAttempts: Int
    /// The longest wait between two probes of a destination that is down, or of a paused
    /// analysis: how late, at most, a recovery is noticed.
    public var probeMaxSeconds: Double

    public init(retryBaseSeconds: Double = 1, retryMaxSeconds: Double = 3600, maxAttempts: Int = 0, probeMaxSeconds: Double = 15) {
        self.retryBaseSeconds = retryBaseSeconds
        self.retryMaxSeconds = retryMaxSeconds
        self.maxAttempts = maxAttempts
        self.probeMaxSeconds = probeMaxSeconds
    }

    /// Waits between probes: doubling from `retryBaseSeconds` up to `probeMaxSeconds`, with jitter.
    public var probes: RetryPolicy { RetryPolicy(baseSeconds: retryBaseSeconds, maxSeconds: probeMaxSeconds) }
}

/// How long what the gateway keeps is kept (`[retention]`). Only images whose every result is
/// delivered are ever removed.
public struct RetentionSettings: Sendable, Equatable {
    /// A received image stays in the spool this long after its last result was delivered.
    public var keepImagesSeconds: Double = 14 * 86_400
    /// Its ledger rows and spilled outbox files stay this long after that (the job list's history).
    public var keepRecordsSeconds: Double = 30 * 86_400
    /// Past this many bytes in the spool the oldest delivered images go first, whatever their
    /// age; 0: no ceiling.
    public var maxSpoolBytes: UInt64 = 0
    /// How often the sweeper looks.
    public var sweepIntervalSeconds: Double = 300

    public init() {}
}
