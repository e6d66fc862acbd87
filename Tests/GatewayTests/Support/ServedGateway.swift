import Foundation
import XCTest

/// `wecare serve` as a real process with the shipped model, its worker processes, and the ports
/// it printed; stopped with SIGTERM.
struct ServedGateway {
    let process: Tools.Running
    let dicomPort: UInt16
    let httpPort: Int

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    /// `config` with `model` (default: `config.model`, else the shipped one) under `[analysis]`,
    /// plus `analysis` keys; `environment` adds to this process's.
    static func start(_ config: TestConfig, analysis: String = "", model: URL? = nil,
                      environment: [String: String] = [:], logLevel: String = "info") throws -> ServedGateway {
        let wecare = try WeCareBinary.url()
        var config = config
        if let model { config.model = model.path }
        if config.model == nil { config.model = repositoryRoot.appendingPathComponent("weights/busi_unet.onnx").path }
        if !analysis.isEmpty { config.analysisKeys += (config.analysisKeys.isEmpty ? "" : "\n") + analysis }
        let conf = try config.write()
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let running = try Tools.start(wecare.path, ["serve", "--config", conf.path, "--log-level", logLevel], environment: env)
        var ports: (UInt16, Int)?
        _ = Tools.eventually(timeout: 60) {
            if let line = running.output().split(separator: "\n").first(where: { $0.hasPrefix("wecare: listening dicom=") }) {
                let parts = line.split(separator: " ")
                if let d = UInt16(parts[2].dropFirst("dicom=".count)) { ports = (d, Int(parts[3].dropFirst("http=".count)) ?? 0) }
            }
            return ports != nil || !running.process.isRunning
        }
        guard let ports else {
            running.stop()
            try skipIfNetworkMissing(running.output())
            XCTFail("serve did not start: \(running.output())")
            throw XCTSkip("serve did not start")
        }
        return ServedGateway(process: running, dicomPort: ports.0, httpPort: ports.1)
    }

    var isRunning: Bool { process.process.isRunning }

    /// What the process printed so far.
    func output() -> String { process.output() }

    func http(_ path: String, method: String = "GET", body: URL? = nil) throws -> (status: Int, body: String) {
        var args = ["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method]
        if let body { args += ["--data-binary", "@\(body.path)"] }
        let r = try Tools.run("curl", args + ["http://127.0.0.1:\(httpPort)\(path)"])
        let lines = r.output.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    /// One value of a Prometheus sample, e.g. `wecare_jobs{state="quarantined"}`.
    func metric(_ name: String) throws -> Double? {
        let text = try http("/metrics").body
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    func stop() {
        kill(process.process.processIdentifier, SIGTERM)
        process.process.waitUntilExit()
    }
}
