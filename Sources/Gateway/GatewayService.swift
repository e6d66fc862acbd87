import DICOM
import Foundation
import Logging
import Synchronization

/// The whole gateway in one object: ledger, spool, DICOM listener, analysis workers, delivery
/// loops and HTTP. `wecare serve` runs one; tests start and stop them in-process.
public final class GatewayService: @unchecked Sendable {
    // Components are created in init/start and torn down in stop; start/stop are called in order
    // by one owner. Request handlers only read `ledger`, `metrics` and the readiness inputs.
    public let configuration: GatewayConfiguration
    public let ledger: Ledger
    public let metrics = GatewayMetrics()
    public let spool: Spool
    /// The folders of `data_dir`.
    public let data: DataDirectory
    /// Objects between analysis and their destinations.
    let outbox: Outbox
    /// Bytes the outbox holds in memory at most; beyond, objects go to disk. At about 50 kB per
    /// image (SEG, SR, presentation state) that is a backlog of over a thousand images.
    static let outboxMemoryCapacity = 64 << 20
    private let processor: InstanceProcessor?
    private let logger: Logger
    private let extraRoutes: [RouteInstaller]
    /// The reading room, when `[review]` is enabled.
    private let readingRoom: ReadingRoomPlugin?
    private var scp: StorageSCP?
    private var handler: StoreHandler?
    private var runner: JobRunner?
    private var loops: [DeliveryLoop] = []
    private var sweeper: Sweeper?
    private var http: GatewayHTTPServer?
    /// What /readyz and /metrics report on besides the ledger, set once in `start()` (request
    /// handlers read it while start and stop change the components above).
    private let watched = Mutex(Watched())
    private struct Watched {
        var destinations: [(name: String, health: DestinationHealth)] = []
        var breaker: AnalysisBreaker?
    }

    /// `processor` nil runs a receive-only gateway: jobs wait in the ledger as `received`.
    public convenience init(configuration: GatewayConfiguration, processor: InstanceProcessor?, routes: [RouteInstaller] = [],
                            readingRoom: ReadingRoomPlugin? = nil, logger: Logger = Logger(label: "wecare.gateway")) throws {
        try self.init(configuration: configuration, processor: processor, routes: routes, logger: logger,
                      outboxMemoryBytes: Self.outboxMemoryCapacity, readingRoom: readingRoom)
    }

    init(configuration: GatewayConfiguration, processor: InstanceProcessor?, routes: [RouteInstaller],
         logger: Logger, outboxMemoryBytes: Int, readingRoom: ReadingRoomPlugin? = nil) throws {
        self.configuration = configuration
        self.processor = processor
        self.extraRoutes = routes
        self.readingRoom = readingRoom
        self.logger = logger
        let data = DataDirectory(configuration.dataDirectory)
        self.data = data
        do {
            try DurableFile.makeDirectory(data.root)
            spool = try Spool(dataDirectory: data.root)
            let folders = configuration.destinations.compactMap { d -> URL? in
                if case .folder(let path) = d.kind { return path } else { return nil }
            }
            let moved = try LegacyOutboxLayout.migrate(data, destinationFolders: folders)
            if moved > 0 {
                logger.notice("outbox objects moved to the current layout", metadata: ["files": "\(moved)", "to": "\(data.jobObjects.path)"])
            }
        } catch {
            throw GatewayError.dataDirectory(path: data.root.path, reason: "\(error)")
        }
        do {
            ledger = try SQLiteLedger(path: data.ledgerFile)
        } catch {
            throw GatewayError.ledgerUnavailable(path: data.ledgerFile.path, reason: "\(error)")
        }
        outbox = Outbox(data: data, ledger: ledger, destinations: configuration.destinations,
                        memoryCapacity: outboxMemoryBytes, logger: logger)
    }

    /// Name and version of what produces the AI's results (part of every derived UID); nil
    /// for a receive-only gateway.
    public var producerVersion: String? { processor?.producerVersion }

    /// DICOM port actually bound (for port 0).
    public var dicomPort: UInt16 { scp?.boundPort ?? 0 }
    /// HTTP port actually bound, nil when HTTP is off.
    public var httpPort: Int? { http?.boundPort }

    public func start() async throws {
        let resumed = try ledger.resetInterruptedJobs(now: Date())
        if resumed > 0 { logger.notice("jobs interrupted by a stop were put back in the queue", metadata: ["jobs": "\(resumed)"]) }

        let settings = configuration.delivery
        for destination in configuration.destinations {
            let loop = DeliveryLoop(destination: destination, deliverer: Deliverers.make(destination), ledger: ledger,
                                    outbox: outbox, settings: settings, metrics: metrics, logger: logger)
            loops.append(loop)
        }
        // Wired before anything starts: a job's deliveries wake the loops, a job whose outbox
        // objects were lost wakes the workers.
        if let processor {
            let a = configuration.analysis
            let runner = JobRunner(ledger: ledger, processor: processor, spool: spool, outbox: outbox,
                                   retry: RetryPolicy(settings),
                                   breaker: AnalysisBreaker(threshold: a.pauseAfterFailures, probes: settings.probes),
                                   quarantineAfter: a.quarantineAfterFailures, workers: a.workers, metrics: metrics, logger: logger,
                                   extraKinds: readingRoom == nil ? [] : [.json])
            let loops = self.loops
            runner.onDeliveriesQueued = { for loop in loops { loop.doorbell.ring() } }
            if let readingRoom {
                runner.onAnalysed = { [unowned self] job, instance, produced in
                    readingRoom.analysed(job: job, instance: instance, produced: produced, service: self)
                }
            }
            outbox.onJobRedone = { runner.doorbell.ring() }
            self.runner = runner
        } else {
            logger.notice("analysis disabled: instances are received and queued, not analysed")
        }
        let watching = Watched(destinations: loops.map { ($0.destination.name, $0.health) }, breaker: runner?.breaker)
        watched.withLock { $0 = watching }
        for loop in loops { loop.start() }
        runner?.start()
        if let retentionLedger = ledger as? RetentionLedger {
            let sweeper = Sweeper(settings: configuration.retention, ledger: retentionLedger, spool: spool,
                                  dataDirectory: configuration.dataDirectory, metrics: metrics, logger: logger)
            sweeper.start()
            self.sweeper = sweeper
        }

        let handler = StoreHandler(listener: configuration.listener, modalities: configuration.modalities, spool: spool,
                                   ledger: ledger, minFreeBytes: configuration.minFreeDiskBytes, metrics: metrics, logger: logger)
        if let runner { handler.onReceived = { runner.doorbell.ring() } }
        let l = configuration.listener
        do {
            let scp = try StorageSCP(configuration: StorageSCPConfiguration(
                aeTitle: l.aeTitle, port: l.port, maxAssociations: l.maxAssociations,
                acseTimeoutSeconds: l.acseTimeoutSeconds, dimseTimeoutSeconds: l.dimseTimeoutSeconds, tls: l.tls?.dicom,
                maxImageSamples: configuration.analysis.maxImageSamples),
                delegate: handler)
            try scp.start()
            self.scp = scp
            self.handler = handler
        } catch {
            await stopWorkers()
            throw GatewayError.listenerFailed(port: l.port, reason: "\(error)")
        }

        if configuration.http.enabled {
            var front: [RouteInstaller] = [], routes = extraRoutes
            if let readingRoom {
                front.append { [unowned self] router in readingRoom.installFront(router, service: self) }
                routes.append { [unowned self] router in readingRoom.installRoutes(router, service: self) }
            }
            let r = configuration.review
            let tls = r.certificateFile.flatMap { c in r.privateKeyFile.map { (certificate: c, privateKey: $0) } }
            let http = GatewayHTTPServer(settings: configuration.http, service: self, extraRoutes: routes, frontRoutes: front,
                                         tls: tls, logger: logger)
            do {
                try await http.start()
                self.http = http
            } catch {
                await stop()
                throw error
            }
        }
        logger.notice("gateway started", metadata: [
            "ae_title": "\(l.aeTitle)", "dicom_port": "\(dicomPort)", "http_port": "\(httpPort.map(String.init) ?? "off")",
            "destinations": "\(configuration.destinations.map(\.name).joined(separator: ","))"])
    }

    /// Stops accepting associations, lets open ones finish, lets workers finish their current
    /// job and the delivery loops their current batch. The queue stays in the ledger, and the
    /// objects still on their way go to their outbox files.
    public func stop() async {
        if let scp {
            scp.stop()
            self.scp = nil
        }
        await stopWorkers()
        await http?.stop()
        http = nil
        logger.notice("gateway stopped")
    }

    private func stopWorkers() async {
        await sweeper?.stop()
        sweeper = nil
        await runner?.stop()
        runner = nil
        for loop in loops { await loop.stop() }
        loops = []
        outbox.spillAll()
    }

    /// A signed revision from the reading room: its objects are written durably to the job's
    /// outbox folder, `record` names them in the ledger (with the signature, in one durable
    /// transaction), and the delivery loops are woken: they leave by the same path as the AI's.
    public func deliverSigned(_ produced: [ProducedObject], job: Int64, record: ([NewObject]) throws -> Void) throws {
        let objects = try outbox.keepSigned(produced, job: job, record: record)
        if objects.contains(where: { !$0.destinations.isEmpty }) { for loop in loops { loop.doorbell.ring() } }
    }

    /// Why the gateway should not get traffic now; empty when ready.
    public func readinessProblems() -> [String] {
        var problems: [String] = []
        do { _ = try ledger.counts() } catch { problems.append("ledger not readable: \(error)") }
        if let free = DurableFile.freeBytes(at: configuration.dataDirectory) {
            if free < configuration.minFreeDiskBytes {
                problems.append("free disk \(free / 1_048_576) MB is below min_free_disk_mb \(configuration.minFreeDiskBytes / 1_048_576)")
            }
        } else {
            problems.append("cannot read free space of the data directory")
        }
        if scp == nil { problems.append("DICOM listener is not running") }
        return problems
    }

    /// What works only in part while the gateway still receives: a paused analysis, destinations
    /// that are down. /readyz shows them without refusing traffic: images are stored and wait.
    public func degradations(now: Date = Date()) -> [String] {
        var notes: [String] = []
        let watching = watched.withLock { $0 }
        if let paused = watching.breaker?.paused {
            notes.append("analysis paused for \(Int(now.timeIntervalSince(paused.since))) s (\(paused.reason)); "
                         + "images are received and queued, and analysed once a probe image succeeds")
        }
        let waiting = try? ledger.waitingDeliveries()
        for (name, health) in watching.destinations {
            guard let down = health.down else { continue }
            let count = waiting?[name]?.count
            notes.append("destination \(name) down for \(Int(now.timeIntervalSince(down.since))) s "
                         + "(\(down.reason)); \(count.map(String.init) ?? "unknown") deliveries wait for it")
        }
        return notes
    }

    func refreshMetrics() {
        let counts = try? ledger.counts()
        let headroom = DurableFile.freeBytes(at: configuration.dataDirectory).map { Int64($0) - Int64(configuration.minFreeDiskBytes) }
        let waiting = try? ledger.waitingDeliveries()
        let watching = watched.withLock { $0 }
        let destinations = watching.destinations.map { name, health in
            GatewayMetrics.DestinationSnapshot(name: name, up: health.down == nil,
                                               waiting: waiting.map { $0[name] ?? WaitingDeliveries(count: 0) })
        }
        metrics.refresh(counts: counts, diskHeadroomBytes: headroom, outboxMemoryBytes: outbox.heldBytes,
                        destinations: destinations, analysisPaused: watching.breaker.map { $0.paused != nil })
    }
}
