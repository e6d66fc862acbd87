import Foundation

extension GatewayConfiguration {
    /// One screen an admin can read to confirm the gateway will do what they meant.
    public var summary: String {
        let l = listener
        var lines: [String] = []
        lines.append("\(file.path): OK")
        let who = modalities.map { m in m.host.map { "\(m.aeTitle)@\($0)" } ?? m.aeTitle }.joined(separator: ", ")
        lines.append("  listener      AE \(l.aeTitle), port \(l.port), up to \(l.maxAssociations) associations, TLS \(l.tls == nil ? "off" : "on\(l.tls!.requirePeerCertificate ? " (client certificate required)" : "")")")
        lines.append("  modalities    \(who.isEmpty ? "none listed" : who); \(l.acceptUnknownModalities ? "any other calling AE is ACCEPTED" : "others refused")")
        let free = DurableFile.freeBytes(at: dataDirectory).map { String(format: "%.1f GB free", Double($0) / 1e9) } ?? "free space unknown"
        lines.append("  data_dir      \(dataDirectory.path) (\(free); refuse below \(minFreeDiskBytes / 1_048_576) MB)")
        let modelNote = FileManager.default.fileExists(atPath: analysis.model.path) ? "" : " (file missing)"
        lines.append("  analysis      \(analysis.enabled ? "on" : "OFF (receive only)"), model \(analysis.model.path)\(modelNote), \(analysis.workers) worker(s) x \(analysis.threads) thread(s)\(analysis.threshold.map { ", threshold \($0)" } ?? ""), images up to \(analysis.maxImageSamples / 1_000_000) million samples")
        if destinations.isEmpty { lines.append("  destinations  none (results stay in the outbox)") }
        for d in destinations {
            let outputs = OutputKind.allCases.filter { d.wants($0) }.map(\.rawValue).joined(separator: ", ")
            switch d.kind {
            case .folder(let path):
                lines.append("  destination   \(d.name): folder \(path.path) <- \(outputs)")
            case .dicom(let s):
                lines.append("  destination   \(d.name): DICOM \(s.aeTitle)@\(s.host):\(s.port) as \(s.callingAETitle)\(s.tls == nil ? "" : " over TLS") <- \(outputs)")
            }
        }
        lines.append("  http          \(http.enabled ? "\(http.bindAddress):\(http.port)" : "off")")
        lines.append("  reading room  \(review.enabled ? "on, \(review.usesTLS ? "https" : "http")://\(http.bindAddress):\(http.port)/, sessions \(String(format: "%g", review.sessionLifetimeSeconds / 3600)) h" : "off")")
        lines.append("  delivery      retry after \(delivery.retryBaseSeconds) s, doubling up to \(delivery.retryMaxSeconds) s, \(delivery.maxAttempts == 0 ? "never give up" : "give up after \(delivery.maxAttempts) attempts")")
        return lines.joined(separator: "\n")
    }
}
