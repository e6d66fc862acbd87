import Foundation
import Logging

/// Where a job's objects wait between analysis and their destinations, and the rule that lets
/// them wait without an fsync:
///
/// - **keep**: analysis hands over its objects; those some destination takes are held in
///   memory (`OutboxMemory`), or, when memory is full or the job ran before, written to
///   `outbox/jobs/<job>/` without fsync; either way before the ledger names them, with their
///   `ContentFingerprint`. With no destination at all the outbox is the results' home: every
///   object is written there durably.
/// - **take**: before a delivery each object is found in memory, or on disk matching its
///   fingerprint. One found in neither (a crash took it with the process, or a power cut before
///   the page cache reached the disk) sends its job back to analysis, which is always possible
///   because the spool is durable; none of the job's objects go out until then.
/// - **settle**: a destination has the object (or gave up on it); after the last one it leaves
///   memory. The delivery is in the ledger before that, so a crash after a confirmation never
///   finds the object missing for that destination.
/// - **spill**: an object that must wait (its delivery failed, its destination is down, the
///   gateway stops) goes from memory to its file, so a restart finds it instead of analysing
///   its job again.
final class Outbox: @unchecked Sendable {
    // Immutable after init except `onJobRedone`, which is set before the delivery loops start.
    let data: DataDirectory
    private let ledger: Ledger
    private let destinations: [DestinationSettings]
    private let memory: OutboxMemory
    private let logger: Logger
    /// Told when a job went back to analysis because one of its objects was lost; set before
    /// any delivery starts.
    var onJobRedone: @Sendable () -> Void = {}

    init(data: DataDirectory, ledger: Ledger, destinations: [DestinationSettings], memoryCapacity: Int, logger: Logger) {
        self.data = data
        self.ledger = ledger
        self.destinations = destinations
        memory = OutboxMemory(data: data, capacity: memoryCapacity)
        self.logger = logger
    }

    /// Bytes held in memory now.
    var heldBytes: Int { memory.heldBytes }

    /// What analysis should make: what some destination takes, or everything when there is none.
    var kindsWanted: Set<OutputKind> {
        Set(OutputKind.allCases.filter { kind in destinations.isEmpty || destinations.contains { $0.wants(kind) } })
    }

    /// Keeps the objects of a job's run for their destinations and has `record` name them in the
    /// ledger (in the same order: kept first, named second). Returns what was recorded. When
    /// `record` throws, nothing stays held (the job's next run keeps its objects again).
    @discardableResult
    func keep(_ produced: [ProducedObject], of claim: JobClaim, record: ([NewObject]) throws -> Void) throws -> [NewObject] {
        let routed = produced.map { object in
            let to = destinations.filter { $0.wants(object.kind) }.map(\.name)
            return NewObject(kind: object.kind, fileName: object.fileName,
                             path: DataDirectory.jobObjectPath(job: claim.jobID, file: object.fileName),
                             sopInstanceUID: object.sopInstanceUID, destinations: to,
                             fingerprint: to.isEmpty ? nil : ContentFingerprint(of: object.data))
        }
        let kept = zip(produced, routed).filter { destinations.isEmpty || !$0.1.destinations.isEmpty }
        // Only a first run's objects are held: a job analysed before may have objects some
        // destinations took already, which would never let them go.
        let held = !destinations.isEmpty && claim.attempts == 1
            && memory.hold(kept.map { ($0.1.path, $0.0.data, $0.1.destinations) })
        if !kept.isEmpty && !held {
            try DurableFile.writeUnreferenced(kept.map { ($0.0.fileName, $0.0.data) }, into: data.jobFolder(claim.jobID),
                                              durable: destinations.isEmpty)
        }
        let objects = kept.map(\.1)
        do {
            try record(objects)
        } catch {
            if held { memory.drop(objects.map(\.path)) }
            throw error
        }
        return objects
    }

    /// Keeps a signed revision's objects (the reading room) for their destinations and has
    /// `record` name them in the ledger. They are written to the job's folder durably (no
    /// fingerprint): a signature is made once by a person, not by analysis that could make it
    /// again, so it must survive a crash before it is delivered. Returns what was recorded.
    @discardableResult
    func keepSigned(_ produced: [ProducedObject], job: Int64, record: ([NewObject]) throws -> Void) throws -> [NewObject] {
        let routed = produced.map { object in
            NewObject(kind: object.kind, fileName: object.fileName, path: DataDirectory.jobObjectPath(job: job, file: object.fileName),
                      sopInstanceUID: object.sopInstanceUID, destinations: destinations.filter { $0.wants(object.kind) }.map(\.name))
        }
        try DurableFile.writeUnreferenced(produced.map { ($0.fileName, $0.data) }, into: data.jobFolder(job), durable: true)
        try record(routed)
        return routed
    }

    /// The batch's objects ready to go, each from memory or from its checked file. A job with an
    /// object lost since analysis goes back to analysis (once, whichever sender finds it first);
    /// its objects are left out of the batch.
    func take(_ batch: [DeliveryTask]) throws -> [(task: DeliveryTask, item: DeliveryItem)] {
        var ready: [(task: DeliveryTask, item: DeliveryItem)] = []
        var lostJobs: Set<Int64> = []
        for task in batch where !lostJobs.contains(task.jobID) {
            let held = memory.data(task.path)
            if held == nil, let problem = loss(task) {
                lostJobs.insert(task.jobID)
                if try ledger.redoJob(task.jobID, reason: "outbox file \(task.fileName) \(problem); analysing again", now: Date()) {
                    logger.warning("outbox object lost since analysis; analysing the job again",
                                   metadata: ["job": "\(task.jobID)", "file": "\(task.fileName)", "problem": "\(problem)"])
                    onJobRedone()
                }
                continue
            }
            ready.append((task, DeliveryItem(file: data.file(task.path), data: held, fileName: task.fileName, kind: task.kind,
                                             studyInstanceUID: task.studyInstanceUID,
                                             sourceSOPInstanceUID: task.sourceSOPInstanceUID)))
        }
        return ready.filter { !lostJobs.contains($0.task.jobID) }
    }

    /// Whether the outbox file still holds what analysis wrote: nil when it does or was
    /// written durably, else what is wrong.
    private func loss(_ task: DeliveryTask) -> String? {
        guard let expected = task.fingerprint else { return nil }
        guard let bytes = try? Data(contentsOf: data.file(task.path)) else { return "missing" }
        let found = ContentFingerprint(of: bytes)
        return found == expected ? nil : "holds \(found), analysis wrote \(expected)"
    }

    /// `destination` is done with the object: delivered and recorded, or given up.
    func settle(_ task: DeliveryTask) {
        memory.done(task.path, destination: task.destination)
    }

    /// The object waits for a retry, maybe hours away: in its file, not in memory. When the
    /// file cannot be written (a full disk) it stays in memory, which loses nothing but room.
    func spill(_ task: DeliveryTask) {
        do {
            try memory.spill(task.path)
        } catch {
            logger.error("cannot write an outbox file; the object stays in memory",
                         metadata: ["job": "\(task.jobID)", "file": "\(task.fileName)", "error": "\(error)"])
        }
    }

    /// Everything `destination` still has to take goes to its files (the destination is down).
    func spill(waitingFor destination: String) {
        let unwritten = memory.spill(waitingFor: destination)
        if !unwritten.isEmpty {
            logger.error("cannot write outbox files; the objects stay in memory",
                         metadata: ["destination": "\(destination)", "objects": "\(unwritten.count)"])
        }
    }

    /// Everything held goes to its files (the gateway stops).
    func spillAll() {
        // What is not written now is analysed again after the restart: slower, but not lost.
        let unwritten = memory.spillAll()
        if !unwritten.isEmpty {
            logger.error("cannot write outbox files; their jobs will be analysed again after the restart",
                         metadata: ["objects": "\(unwritten.count)"])
        }
    }
}
