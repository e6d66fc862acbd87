import Foundation
import XCTest

/// Issue 23's proof: hostile and broken inputs, made from BUSI ultrasound images by
/// `Helpers/hostile.py` (every case the issue names, plus 500 seeded mutations of valid US files),
/// sent as raw C-STORE bytes to the real gateway (`wecare serve`, shipped model, worker processes)
/// and POSTed to `/api/v1/predict`. For each case its expectation (manifest `expect`) is checked
/// against the C-STORE status and what reaches a storescp PACS; after every named case and every
/// 50 fuzz cases the gateway must be running, answer a C-ECHO and analyse and deliver a good
/// image; finally a restart on the same data folder must not loop. A summary table goes to the log.
final class HostileInputTests: XCTestCase {
    static let fuzzCases = 500
    static let seed = 23
    static let fuzzChunk = 50
    /// Every 10th fuzz case is also POSTed: 50 of them.
    static let httpEveryFuzz = 10
    static let httpAnswers: Set<Int> = [200, 400, 413, 415, 422, 503]
    static let analysisKeys = "image_timeout_seconds = 30"

    struct Case: Decodable {
        let name: String, file: String, uid: String, expect: String, why: String
        let check: String?
        var named: Bool { !name.hasPrefix("fuzz-") }
    }

    struct Probe: Decodable { let file: String, uid: String }

    /// One C-STORE as scu.py store-list reported it.
    struct Sent {
        var established = false
        var status: Int?
        var exception: String?
        var comment: String?
        var aborted = false
        var statusText: String {
            if !established { return exception.map { "no association (\($0.prefix(40)))" } ?? "no association" }
            if let status { return String(format: "%04X", status) }
            return (aborted ? "none (aborted)" : "none") + (exception.map { " (\($0.prefix(50)))" } ?? "")
        }
    }

    var dir: URL!
    var corpus: URL!
    var config: TestConfig!
    var gateway: ServedGateway!
    var pacs: PACSIndex!
    var probes: [Probe] = []
    var nextProbe = 0
    /// Everything that took the gateway process down, for the summary.
    var deaths: [String] = []

    override func setUpWithError() throws {
        try Tools.require("storescp", "echoscu", "dcmdump", "dsrdump", "dcmcjpeg", "dcmcrle", "curl")
        try Peers.requirePynetdicom()
        let py = try Tools.run("python3", ["-c", "import pydicom, numpy, PIL"])
        if py.status != 0 { throw XCTSkip("pydicom, numpy and pillow needed: \(py.output)") }
        guard FileManager.default.fileExists(atPath: TestImages.busiImages.appendingPathComponent("benign_001.png").path) else {
            throw XCTSkip("BUSI images not found at \(TestImages.busiImages.path)")
        }
        dir = try Tools.temporaryDirectory("hostile")
    }

    override func tearDownWithError() throws {
        gateway?.process.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    static var hostileScript: URL {
        Peers.helper.deletingLastPathComponent().appendingPathComponent("hostile.py")
    }

    func testHostileInputsNeitherTakeTheGatewayDownNorReachThePACSAsResults() async throws {
        let began = Date()
        // The corpus: named cases, then the seeded fuzz cases, and good probe images.
        corpus = dir.appendingPathComponent("corpus")
        let made = try Tools.run("python3", [Self.hostileScript.path, "make", corpus.path, "--busi", TestImages.busiImages.path,
                                             "--fuzz", "\(Self.fuzzCases)", "--seed", "\(Self.seed)", "--probes", "40"], timeout: 300)
        XCTAssertEqual(made.status, 0, made.output)
        guard made.status == 0 else { return }
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: corpus.appendingPathComponent("manifest.json")))
        probes = try JSONDecoder().decode([Probe].self, from: Data(contentsOf: corpus.appendingPathComponent("probes.json")))
        XCTAssertEqual(cases.filter { !$0.named }.count, Self.fuzzCases)
        print("hostile: corpus of \(cases.count) cases made in \(Int(Date().timeIntervalSince(began))) s")

        // The PACS, and the gateway sending it SEG, SR and presentation states.
        let pacsFolder = dir.appendingPathComponent("pacs")
        try FileManager.default.createDirectory(at: pacsFolder, withIntermediateDirectories: true)
        let pacsPort = Tools.freePort()
        let pacsProcess = try Tools.start("storescp", ["-aet", "PACS", "-od", pacsFolder.path, "\(pacsPort)"])
        defer { pacsProcess.stop() }
        pacs = PACSIndex(folder: pacsFolder)
        config = TestConfig(dir: dir)
        config.destinations = TestConfig.pacsDestination(port: pacsPort, outputs: "\"seg\", \"sr\", \"pr\"")
        gateway = try ServedGateway.start(config, analysis: Self.analysisKeys)

        var sent: [String: Sent] = [:]
        var http: [String: Int] = [:]
        var checkpoints: [(label: String, seconds: Double)] = []

        // Named cases one at a time, each followed by the checks; fuzz cases in chunks of 50.
        var index = 0
        while index < cases.count {
            let chunk: [Case]
            if cases[index].named {
                chunk = [cases[index]]
            } else {
                chunk = Array(cases[index..<min(index + Self.fuzzChunk, cases.count)].prefix { !$0.named })
            }
            index += chunk.count
            let label = chunk.count == 1 ? chunk[0].name : "\(chunk[0].name) ... \(chunk[chunk.count - 1].name)"
            let results = try send(chunk.map { corpus.appendingPathComponent($0.file) })
            for (c, r) in zip(chunk, results) { sent[c.name] = r }
            // Checked between the two ways in, so that a death is attributed to the one that caused it.
            guard try await ensureAlive(after: "\(label) over DICOM") else { break }
            for (k, c) in chunk.enumerated() where c.named || (k + 1) % Self.httpEveryFuzz == 0 {
                let status = try post(corpus.appendingPathComponent(c.file))
                http[c.name] = status
                XCTAssertTrue(Self.httpAnswers.contains(status), "POST \(c.name) to /api/v1/predict answered \(status)")
            }
            let started = Date()
            guard try await ensureAlive(after: "\(label) over HTTP") else { break }
            try await checkpoint(after: label)
            checkpoints.append((label, Date().timeIntervalSince(started)))
        }
        let sendingDone = Date()

        // Restart: SIGTERM, then the same data folder. Only jobs still queued may be tried again,
        // each killing at most one more worker; the gateway must stay up and work.
        let metricsBeforeRestart = (try? gatewayMetrics()) ?? [:]
        let jobs = try gatewayJobs()
        let queued = jobs.filter { ["received", "analysing"].contains($0.state) }.count
        gateway.stop()
        let exit = gateway.process.process.terminationStatus
        XCTAssertEqual(exit, 0, "serve exits 0 on SIGTERM; log: \(tail(gateway.process.output()))")
        gateway = try ServedGateway.start(config, analysis: Self.analysisKeys)
        var upAll10s = true
        for _ in 0..<20 where upAll10s {
            try await Task.sleep(nanoseconds: 500_000_000)
            upAll10s = gateway.isRunning
        }
        XCTAssertTrue(upAll10s, "after a restart on the same data folder the gateway died within 10 s (a crash loop): \(tail(gateway.process.output()))")
        if upAll10s {
            let failures = try gateway.metric("wecare_analysis_worker_failures_total") ?? 0
            XCTAssertLessThanOrEqual(Int(failures), queued,
                                     "worker failures after the restart beyond one per job still queued (\(queued)): \(failures)")
            print("hostile: restart with \(queued) jobs queued: \(Int(failures)) worker failures in the first 10 s")
            try await checkpoint(after: "restart")
        }

        // Let the queue drain, then attribute every object at the PACS to its source.
        let drained = await poll(timeout: 120, every: 1) { [self] in
            guard gateway.isRunning, let m = try? gatewayMetrics() else { return true }
            return (m["wecare_jobs{state=\"received\"}"] ?? 0) + (m["wecare_jobs{state=\"analysing\"}"] ?? 0)
                + (m["wecare_deliveries{state=\"pending\"}"] ?? 0) + (m["wecare_deliveries{state=\"failed-retrying\"}"] ?? 0) == 0
        }
        XCTAssertTrue(drained, "the queue did not drain within 120 s: \((try? gatewayMetrics())?.filter { $0.key.hasPrefix("wecare_jobs") || $0.key.hasPrefix("wecare_deliveries") } ?? [:])")
        try pacs.refresh(settle: 0)
        let metricsAtEnd = (try? gatewayMetrics()) ?? [:]

        // Each case against its expectation.
        var rows: [(Case, String, String, String, String)] = []
        var failed: [String] = []
        var acceptedBefore: Set<String> = []
        for c in cases {
            let r = sent[c.name] ?? Sent(exception: "not sent")
            let objects = pacs.objects(referencing: c.uid)
            var problems: [String] = []
            switch c.expect {
            case "accepted":
                if r.status != 0 { problems.append("status \(r.statusText), expected 0000") }
                let normalSR = objects.contains { $0.kind == "SR" && !$0.unavailable }
                if !(objects.contains { $0.kind == "SEG" } && normalSR && objects.contains { $0.kind == "PR" }) {
                    problems.append("expected SEG, SR and PR at the PACS")
                }
                acceptedBefore.insert(c.uid)
            case "refused":
                if r.status == nil { problems.append("no status (\(r.statusText)); expected a failure status") }
                if r.status == 0 { problems.append("acknowledged 0000; expected a failure status") }
                if acceptedBefore.contains(c.uid) {
                    // Same UID as an accepted case: no second set of results.
                    let kinds = Dictionary(grouping: objects, by: \.kind).mapValues(\.count)
                    if kinds.values.contains(where: { $0 > 1 }) { problems.append("a second set of results reached the PACS: \(kinds)") }
                } else if !objects.isEmpty {
                    problems.append("objects reached the PACS")
                }
            case "no-result":
                if objects.contains(where: { !($0.kind == "SR" && $0.unavailable) }) {
                    problems.append("results made from broken pixels reached the PACS")
                }
            default:
                break
            }
            if c.check == "no-mm-measurement", objects.contains(where: { $0.millimetres }) {
                problems.append("an SR with measurements in mm from an implausible calibration reached the PACS")
            }
            let verdict = problems.isEmpty ? "ok" : "FAIL: " + problems.joined(separator: "; ")
            if !problems.isEmpty { failed.append("\(c.name) (\(c.expect)): \(problems.joined(separator: "; "))") }
            rows.append((c, r.statusText + (r.comment.map { " \"\($0.prefix(40))\"" } ?? ""), http[c.name].map(String.init) ?? "-",
                         PACSIndex.describe(objects), verdict))
        }
        for f in failed { XCTFail(f) }

        // The summary table.
        var table = "\nhostile: case | expect | C-STORE status | POST | at the PACS | verdict\n"
        for (c, status, post, atPACS, verdict) in rows where c.named {
            table += "hostile: \(c.name) | \(c.expect) | \(status) | \(post) | \(atPACS) | \(verdict)\n"
        }
        for (c, status, post, atPACS, _) in rows where !c.named {
            table += "hostile: \(c.name) | \(status) | \(post) | \(atPACS) | \(c.why)\n"
        }
        let fuzzRows = rows.filter { !$0.0.named }
        let byStatus = Dictionary(grouping: fuzzRows, by: { $0.1 }).mapValues(\.count).sorted { $0.value > $1.value }
        let byPACS = Dictionary(grouping: fuzzRows, by: { $0.3 }).mapValues(\.count).sorted { $0.value > $1.value }
        table += "hostile: fuzz statuses: \(byStatus.map { "\($0.key): \($0.value)" }.joined(separator: ", "))\n"
        table += "hostile: fuzz at the PACS: \(byPACS.map { "\($0.key): \($0.value)" }.joined(separator: ", "))\n"
        let silent = fuzzRows.filter { $0.1 == "0000" && $0.3 == "nothing" }.count
        table += "hostile: fuzz cases acknowledged 0000 with nothing at the PACS (not even an unavailable SR): \(silent)\n"
        table += "hostile: fuzz POSTs: \(Dictionary(grouping: fuzzRows.filter { $0.2 != "-" }, by: { $0.2 }).mapValues(\.count))\n"
        table += "hostile: gateway deaths: \(deaths.isEmpty ? "none" : deaths.joined(separator: "; "))\n"
        table += "hostile: worker failures: \(Int(metricsBeforeRestart["wecare_analysis_worker_failures_total"] ?? 0)) before the final restart "
            + "(since the gateway's last start), \(Int(metricsAtEnd["wecare_analysis_worker_failures_total"] ?? 0)) after it; "
            + "\(Int(metricsAtEnd["wecare_jobs{state=\"quarantined\"}"] ?? 0)) jobs quarantined in the ledger\n"
        table += "hostile: slowest checkpoints: \(checkpoints.sorted { $0.seconds > $1.seconds }.prefix(3).map { "\($0.label) \(Int($0.seconds)) s" })\n"
        table += "hostile: sending and checks \(Int(sendingDone.timeIntervalSince(began))) s, total \(Int(Date().timeIntervalSince(began))) s\n"
        print(table)
        XCTAssertTrue(deaths.isEmpty, "the gateway process died: \(deaths)")
    }

    // MARK: - Sending

    /// scu.py store-list: one association per file, one JSON line per file.
    private func send(_ files: [URL]) throws -> [Sent] {
        let r = try Tools.run("python3", [Peers.helper.path, "store-list", "127.0.0.1", "\(gateway.dicomPort)", "US_ROOM1", "WECARE"]
                                + files.map(\.path), timeout: 60 + Double(files.count) * 10)
        var byFile: [String: Sent] = [:]
        for line in r.output.split(separator: "\n") where line.hasPrefix("{") {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let file = o["file"] as? String else { continue }
            byFile[file] = Sent(established: o["established"] as? Bool ?? false, status: o["status"] as? Int,
                                exception: o["exception"] as? String, comment: o["comment"] as? String,
                                aborted: o["aborted"] as? Bool ?? false)
        }
        return files.map { byFile[$0.path] ?? Sent(exception: "scu.py gave no answer") }
    }

    private func post(_ file: URL) throws -> Int {
        let r = try Tools.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "120", "-X", "POST",
                                       "-H", "Content-Type: application/dicom", "--data-binary", "@\(file.path)",
                                       "http://127.0.0.1:\(gateway.httpPort)/api/v1/predict"], timeout: 130)
        return Int(r.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    // MARK: - The checks after each case

    /// Whether the gateway process is running; if it is not, its death is recorded and it is
    /// started again on the same data folder so that the remaining cases still run. False when
    /// it dies again within 5 s of that restart (a crash loop): the run cannot go on.
    private func ensureAlive(after label: String) async throws -> Bool {
        if gateway.isRunning { return true }
        let process = gateway.process.process
        let how = process.terminationReason == .uncaughtSignal ? "signal \(process.terminationStatus)" : "exit \(process.terminationStatus)"
        deaths.append("after \(label): \(how)")
        XCTFail("THE GATEWAY PROCESS DIED after \(label) (\(how)); log: \(tail(gateway.process.output()))")
        gateway = try ServedGateway.start(config, analysis: Self.analysisKeys)
        try await Task.sleep(nanoseconds: 5_000_000_000)
        guard gateway.isRunning else {
            XCTFail("CRASH LOOP: the gateway died again within 5 s of a restart after \(label): \(tail(gateway.process.output()))")
            return false
        }
        return true
    }

    /// The gateway answers a C-ECHO, and a good image sent now is analysed and its SEG, SR and
    /// presentation state reach the PACS.
    private func checkpoint(after label: String) async throws {
        let echo = try Peers.echo(port: gateway.dicomPort)
        XCTAssertEqual(echo.status, 0, "C-ECHO after \(label): \(echo.output)")
        guard nextProbe < probes.count else { XCTFail("out of probe images"); return }
        let probe = probes[nextProbe]
        nextProbe += 1
        let r = try send([corpus.appendingPathComponent(probe.file)])
        XCTAssertEqual(r.first?.status, 0, "a good image after \(label) was not acknowledged: \(r.first?.statusText ?? "")")
        let delivered = await poll(timeout: 240, every: 0.5) { [self] in
            try? pacs.refresh()
            let objects = pacs.objects(referencing: probe.uid)
            return Set(objects.filter { !$0.unavailable }.map(\.kind)).isSuperset(of: ["SEG", "SR", "PR"]) || !gateway.isRunning
        }
        let objects = pacs.objects(referencing: probe.uid)
        XCTAssertTrue(delivered && gateway.isRunning,
                      "a good image after \(label) did not get SEG, SR and PR at the PACS: \(PACSIndex.describe(objects)); \(tail(gateway.process.output()))")
    }

    private func poll(timeout: TimeInterval, every: TimeInterval, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(nanoseconds: UInt64(every * 1e9))
        }
        return condition()
    }

    private struct JobRow: Decodable { let state: String }

    private func gatewayJobs() throws -> [JobRow] {
        let r = try gateway.http("/api/v1/jobs?limit=1000")
        return (try? JSONDecoder().decode([JobRow].self, from: Data(r.body.utf8))) ?? []
    }

    private func gatewayMetrics() throws -> [String: Double] {
        var out: [String: Double] = [:]
        for line in try gateway.http("/metrics").body.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let v = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = v
        }
        return out
    }

    /// The end of a gateway log, without the stack frames crashed workers print.
    private func tail(_ s: String) -> String {
        let lines = s.split(separator: "\n").filter { line in
            !(line.first?.isNumber == true && (line.contains(" lib") || line.contains(" wecare ")) && line.contains("0x"))
        }
        return String(lines.joined(separator: "\n").suffix(3000))
    }
}

/// What reached the storescp PACS: each file's kind, the SOP Instance UIDs it references
/// (dcmdump), and for SRs whether it says the analysis is unavailable and whether it measures
/// in millimetres (dsrdump +Pl). Files are read once they have stopped growing.
final class PACSIndex {
    struct Object {
        var file: String
        var size: Int
        var kind: String
        var references: Set<String>
        var unavailable = false
        var millimetres = false
    }

    let folder: URL
    private(set) var objects: [String: Object] = [:]

    init(folder: URL) { self.folder = folder }

    func objects(referencing uid: String) -> [Object] {
        objects.values.filter { $0.references.contains(uid) }.sorted { $0.file < $1.file }
    }

    static func describe(_ objects: [Object]) -> String {
        if objects.isEmpty { return "nothing" }
        return objects.map { o in
            o.kind == "SR" ? (o.unavailable ? "unavailable-SR" : (o.millimetres ? "SR(mm)" : "SR")) : o.kind
        }.sorted().joined(separator: "+")
    }

    /// Reads files that are new or changed and older than `settle` seconds.
    func refresh(settle: TimeInterval = 0.5) throws {
        let keys: [URLResourceKey] = [.fileSizeKey, .contentModificationDateKey]
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: keys)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
        var fresh: [(URL, Int)] = []
        for f in files {
            let values = try? f.resourceValues(forKeys: Set(keys))
            let size = values?.fileSize ?? 0
            if objects[f.lastPathComponent]?.size == size { continue }
            if let m = values?.contentModificationDate, Date().timeIntervalSince(m) < settle { continue }
            fresh.append((f, size))
        }
        for start in stride(from: 0, to: fresh.count, by: 100) {
            let batch = Array(fresh[start..<min(start + 100, fresh.count)])
            let dump = try Tools.run("dcmdump", ["-q", "-Un", "+F", "+P", "0008,0016", "+P", "0008,1155"] + batch.map { $0.0.path })
            var parsed: [String: (sopClass: String?, refs: Set<String>)] = [:]
            var current: String?
            for line in dump.output.split(separator: "\n") {
                if line.hasPrefix("# dcmdump ("), let colon = line.range(of: "): ") {
                    current = String(line[colon.upperBound...])
                    parsed[current!] = (nil, [])
                    continue
                }
                guard let c = current, let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]"), open < close else { continue }
                let value = String(line[line.index(after: open)..<close])
                if line.hasPrefix("(0008,0016)") && parsed[c]?.sopClass == nil { parsed[c]?.sopClass = value }
                if line.hasPrefix("(0008,1155)") { parsed[c]?.refs.insert(value) }
            }
            for (url, size) in batch {
                guard let p = parsed[url.path], let sopClass = p.sopClass else { continue }
                var o = Object(file: url.lastPathComponent, size: size, kind: Self.kind(sopClass), references: p.refs)
                if o.kind == "SR" {
                    let sr = try Tools.run("dsrdump", ["+Pl", url.path])
                    o.unavailable = sr.output.contains("AI analysis unavailable")
                    o.millimetres = sr.output.contains("(mm,UCUM") || sr.output.contains("(mm2,UCUM")
                }
                objects[url.lastPathComponent] = o
            }
        }
    }

    static func kind(_ sopClass: String) -> String {
        if sopClass == "1.2.840.10008.5.1.4.1.1.66.4" { return "SEG" }
        if sopClass.hasPrefix("1.2.840.10008.5.1.4.1.1.88.") { return "SR" }
        if sopClass.hasPrefix("1.2.840.10008.5.1.4.1.1.11.") { return "PR" }
        return "other(\(sopClass))"
    }
}
