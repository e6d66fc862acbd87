import ArgumentParser
import Foundation
import Gateway
import Reporting

/// `wecare selftest`: what an admin runs after installing or upgrading, before pointing the
/// modalities at the gateway. One line per check, "ok", "warn" or "FAIL" with what to do; exits
/// 0 only when nothing FAILs. It reads the configuration with the loader `serve` uses, and
/// changes nothing but the probe files it deletes again.
struct SelftestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Check an installation: configuration, model (on its phantom), disk, ledger, TLS certificates and, "
            + "with --destinations, every destination. Exit 0 only when no check FAILs.")

    @Option(name: .long, help: "The configuration file.")
    var config: String = "conf/gateway.toml"

    @Flag(name: .long, help: "Also C-ECHO every DICOM destination and write (and delete) a file in every folder destination.")
    var destinations = false

    func run() async throws {
        // Whatever this creates (data_dir, probes) is private, as under `serve`.
        PrivateFiles.restrictCreatedFiles()
        var results: [SelftestResult] = []
        func report(_ r: SelftestResult) {
            results.append(r)
            print(r.line)
        }
        let (loaded, configResult) = ConfigurationCheck.run(URL(fileURLWithPath: config))
        report(configResult)
        if let c = loaded {
            report(Self.model(c))
            report(DataDirectoryCheck.run(c))
            report(DiskSpaceCheck.run(c))
            report(LedgerCheck.run(c))
            for r in CertificateCheck.run(c) { report(r) }
            if destinations {
                for r in await DestinationCheck.run(c) { report(r) }
            } else if !c.destinations.isEmpty {
                print("      (destinations not contacted; add --destinations to reach each one)")
            }
        } else {
            print("      (the other checks need a usable configuration)")
        }
        let failed = results.filter { $0.status == .fail }.count, warned = results.filter { $0.status == .warn }.count
        print("\(results.count) check(s): \(failed) failed, \(warned) warning(s)")
        if !results.passed { throw ExitCode(1) }
    }

    /// The model through Reporting (which the gateway library does not link), as one result.
    static func model(_ c: GatewayConfiguration) -> SelftestResult {
        do { try CPUCheck.require() } catch { return SelftestResult(.fail, "model", "\(error)") }
        switch ModelSelfTest.run(modelFile: c.analysis.model) {
        case .passed(let s): return SelftestResult(.ok, "model", s)
        case .unchecked(let s): return SelftestResult(.warn, "model", s)
        case .failed(let s): return SelftestResult(.fail, "model", s)
        }
    }
}
