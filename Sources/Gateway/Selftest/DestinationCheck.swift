import DICOM
import Foundation

/// `--destinations`: every destination reached as delivery will reach it. A DICOM peer gets a
/// C-ECHO from the destination's calling AE title (with its TLS); a folder gets a file written,
/// synced and deleted where results go. Nothing is left behind.
public enum DestinationCheck {
    public static func run(_ configuration: GatewayConfiguration) async -> [SelftestResult] {
        var results: [SelftestResult] = []
        for d in configuration.destinations {
            switch d.kind {
            case .dicom(let settings): results.append(await echo(d.name, settings))
            case .folder(let path): results.append(write(d.name, path))
            }
        }
        return results
    }

    static func echo(_ name: String, _ s: DICOMDestinationSettings) async -> SelftestResult {
        let peer = s.peer
        let address = "\(s.aeTitle)@\(s.host):\(s.port)"
        // The shim blocks while it connects: off the cooperative pool.
        let outcome: Result<Void, Error> = await withCheckedContinuation { done in
            Thread.detachNewThread { done.resume(returning: Result { try StorageSCU.echo(peer) }) }
        }
        switch outcome {
        case .success:
            return SelftestResult(.ok, "destination \(name)", "C-ECHO to \(address) answered 0000\(s.tls == nil ? "" : " over TLS")")
        case .failure(let error):
            return SelftestResult(.fail, "destination \(name)", "C-ECHO to \(address) failed (\(error)); check that the PACS "
                + "is up, that host/port/ae_title are right, and that it accepts calling AE title \(s.callingAETitle)")
        }
    }

    static func write(_ name: String, _ root: URL) -> SelftestResult {
        let probe = root.appendingPathComponent(".wecare-selftest-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try DurableFile.writeSynced(Data("wecare selftest\n".utf8), to: probe.path)
            try FileManager.default.removeItem(at: probe)
        } catch {
            try? FileManager.default.removeItem(at: probe)
            return SelftestResult(.fail, "destination \(name)", "cannot write in \(root.path) (\(error)); give the gateway's "
                + "account write access or change the destination's path")
        }
        return SelftestResult(.ok, "destination \(name)", "wrote, synced and deleted a file in \(root.path)")
    }
}
