import DICOM
import Foundation
import TOMLKit

/// Reads and validates `gateway.toml`. Every problem is reported, each with `FILE:LINE`.
public enum ConfigurationLoader {
    static let sections = ["gateway", "modality", "destination", "http", "tls", "analysis", "delivery", "retention", "review"]

    /// The validated configuration, or `ConfigurationError` listing every problem.
    public static func load(_ file: URL, checkDataDirectory: Bool = true) throws -> GatewayConfiguration {
        let name = file.path
        let source: String
        do {
            source = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw ConfigurationError(problems: [ConfigProblem(file: name, line: nil,
                message: "cannot read the configuration file (\(error.localizedDescription)); check the path and permissions")])
        }
        return try parse(source, file: file, checkDataDirectory: checkDataDirectory)
    }

    public static func parse(_ source: String, file: URL, checkDataDirectory: Bool = true) throws -> GatewayConfiguration {
        let name = file.path
        let root: TOMLTable
        do {
            root = try TOMLTable(string: source)
        } catch let error as TOMLParseError {
            throw ConfigurationError(problems: [ConfigProblem(file: name, line: error.source.begin.line,
                message: "TOML syntax error: \(error.description); fix the syntax on this line")])
        }
        let reader = ConfigReader(file: name, map: TOMLSourceMap(source: source))
        let base = file.deletingLastPathComponent()
        let config = build(root, reader: reader, base: base, checkDataDirectory: checkDataDirectory)
        if let config, reader.problems.isEmpty { return config }
        throw ConfigurationError(problems: reader.problems.sorted { ($0.line ?? 0) < ($1.line ?? 0) })
    }

    private static func build(_ root: TOMLTable, reader: ConfigReader, base: URL, checkDataDirectory: Bool) -> GatewayConfiguration? {
        for key in root.keys where !sections.contains(key) {
            var message = "unknown section or key '\(key)'"
            if let guess = closestKey(to: key, among: sections) { message += "; did you mean [\(guess)]?" }
            else { message += "; known sections: \(sections.map { "[\($0)]" }.joined(separator: ", "))" }
            reader.problem(at: key, message)
        }
        func table(_ key: String) -> TOMLTable? {
            guard let value = root[key] else { return nil }
            if let t = value.table { return t }
            reader.problem(at: key, "'\(key)' must be a table written [\(key)]")
            return nil
        }

        // [gateway]
        guard let gatewayTable = table("gateway") else {
            if root["gateway"] == nil {
                reader.problem(at: "", "missing [gateway] section; add [gateway] with ae_title, port and data_dir")
            }
            return nil
        }
        let g = reader.section(gatewayTable, path: "gateway", known: [
            "ae_title", "port", "max_associations", "data_dir", "min_free_disk_mb",
            "accept_unknown_modalities", "acse_timeout_seconds", "dimse_timeout_seconds"])
        let aeTitle = g.string("ae_title", required: "\"WECARE\"").flatMap { validAETitle($0, g, "ae_title") }
        let port = g.int("port", in: 0...65535, required: "11112")
        let maxAssociations = g.int("max_associations", in: 1...256) ?? 8
        let minFreeMB = g.int("min_free_disk_mb", in: 0...Int(Int32.max)) ?? 1024
        let acceptUnknown = g.bool("accept_unknown_modalities") ?? false
        let acse = g.int("acse_timeout_seconds", in: 1...3600) ?? 30
        let dimse = g.int("dimse_timeout_seconds", in: 1...3600) ?? 60
        let dataDir = resolve(g.string("data_dir") ?? "../var", base: base)
        if checkDataDirectory { checkWritable(dataDir, g, "data_dir") }

        // [tls]
        var listenerTLS: TLSSettings?
        if let t = table("tls") {
            let s = reader.section(t, path: "tls", known: ["enabled", "certificate", "private_key", "trusted_certificates", "require_client_certificate"])
            if s.bool("enabled") ?? true {
                listenerTLS = tlsSettings(s, base: base, requireKey: "require_client_certificate")
            }
        }

        // [[modality]]
        var modalities: [ModalitySettings] = []
        var seenAE: [String: Int] = [:]
        if let value = root["modality"] {
            if let array = value.array {
                for (i, element) in array.enumerated() {
                    let path = "modality[\(i)]"
                    guard let t = element.table else { reader.problem(at: path, "each [[modality]] must be a table"); continue }
                    let m = reader.section(t, path: path, known: ["ae_title", "host", "description"])
                    guard let ae = m.string("ae_title", required: "\"US_ROOM1\"").flatMap({ validAETitle($0, m, "ae_title") }) else { continue }
                    if let first = seenAE[ae] {
                        m.problem("ae_title", "duplicate AE title '\(ae)' (already used by modality #\(first + 1)); every modality needs its own AE title")
                    } else if ae == aeTitle {
                        m.problem("ae_title", "'\(ae)' is the gateway's own AE title; give the modality a different one")
                    }
                    seenAE[ae] = seenAE[ae] ?? i
                    let host = m.string("host")
                    if let host, host.isEmpty { m.problem("host", "empty host; remove the key to allow any address, or give the modality's IP") }
                    modalities.append(ModalitySettings(aeTitle: ae, host: host?.isEmpty == true ? nil : host))
                }
            } else {
                reader.problem(at: "modality", "modalities are written as [[modality]] blocks (double brackets)")
            }
        }

        // [[destination]]
        var destinations: [DestinationSettings] = []
        if let value = root["destination"] {
            if let array = value.array {
                var names: Set<String> = []
                for (i, element) in array.enumerated() {
                    let path = "destination[\(i)]"
                    guard let t = element.table else { reader.problem(at: path, "each [[destination]] must be a table"); continue }
                    if let d = destination(t, path: path, reader: reader, base: base, dataDir: dataDir, gatewayAE: aeTitle ?? "WECARE") {
                        if names.contains(d.name) {
                            reader.problem(at: "\(path).name", "duplicate destination name '\(d.name)'; names must be unique (used by `wecare send --to`)")
                        }
                        names.insert(d.name)
                        destinations.append(d)
                    }
                }
            } else {
                reader.problem(at: "destination", "destinations are written as [[destination]] blocks (double brackets)")
            }
        }

        // [http]
        var http = HTTPSettings()
        if let t = table("http") {
            let h = reader.section(t, path: "http", known: ["enabled", "bind", "port"])
            http.enabled = h.bool("enabled") ?? true
            if let bind = h.string("bind") {
                if bind.isEmpty { h.problem("bind", "empty address; use \"127.0.0.1\" (local only) or \"0.0.0.0\" (all interfaces)") }
                else { http.bindAddress = bind }
            }
            if let p = h.int("port", in: 0...65535) { http.port = p }
        }

        // [analysis]
        var analysis = AnalysisSettings(model: resolve("../weights/busi_unet.onnx", base: base))
        if let t = table("analysis") {
            let a = reader.section(t, path: "analysis", known: ["enabled", "model", "workers", "threads", "threshold",
                                                                      "image_timeout_seconds", "worker_memory_mb",
                                                                      "quarantine_after_failures", "max_image_megasamples",
                                                                      "pause_after_failures"])
            analysis.enabled = a.bool("enabled") ?? true
            if let model = a.string("model") {
                if model.isEmpty { a.problem("model", "empty path; give the ONNX model file, e.g. \"../weights/busi_unet.onnx\"") }
                else { analysis.model = resolve(model, base: base) }
            }
            analysis.workers = a.int("workers", in: 1...64) ?? AnalysisSettings.defaultWorkers
            analysis.threads = a.int("threads", in: 1...256) ?? 1
            if a.has("threshold") {
                if let th = a.double("threshold", in: 0...1) {
                    if th <= 0 || th >= 1 { a.problem("threshold", "\(th) must lie strictly between 0 and 1, e.g. 0.5") }
                    else { analysis.threshold = th }
                }
            }
            if let t = a.double("image_timeout_seconds", in: 1...3600) { analysis.imageTimeoutSeconds = t }
            if let mb = a.int("worker_memory_mb", in: 256...1_048_576) { analysis.workerMemoryBytes = UInt64(mb) << 20 }
            if let n = a.int("quarantine_after_failures", in: 1...100) { analysis.quarantineAfterFailures = n }
            // 1 million (a 1000 x 1000 grey image) up to 20,000 million, far above any ultrasound
            // image; the default 300 takes a 120-frame 1024 x 768 RGB cine loop (283).
            if let mega = a.int("max_image_megasamples", in: 1...20_000) { analysis.maxImageSamples = mega * 1_000_000 }
            if let n = a.int("pause_after_failures", in: 0...1000) { analysis.pauseAfterFailures = n }
        }

        // [delivery]
        var delivery = DeliverySettings()
        if let t = table("delivery") {
            let d = reader.section(t, path: "delivery", known: ["retry_base_seconds", "retry_max_seconds", "max_attempts", "probe_max_seconds"])
            delivery.retryBaseSeconds = d.double("retry_base_seconds", in: 0.01...3600) ?? 1
            delivery.retryMaxSeconds = d.double("retry_max_seconds", in: 0.01...86400) ?? 3600
            delivery.maxAttempts = d.int("max_attempts", in: 0...1_000_000) ?? 0
            delivery.probeMaxSeconds = d.double("probe_max_seconds", in: 0.01...3600) ?? 15
            if delivery.retryMaxSeconds < delivery.retryBaseSeconds {
                d.problem("retry_max_seconds", "must be at least retry_base_seconds (\(delivery.retryBaseSeconds))")
            }
            if delivery.probeMaxSeconds < delivery.retryBaseSeconds {
                d.problem("probe_max_seconds", "must be at least retry_base_seconds (\(delivery.retryBaseSeconds))")
            }
        }

        // [retention]
        var retention = RetentionSettings()
        if let t = table("retention") {
            let r = reader.section(t, path: "retention", known: ["keep_images_days", "keep_records_days", "max_spool_gb",
                                                                 "sweep_interval_seconds"])
            if let d = r.double("keep_images_days", in: 0...36_500) { retention.keepImagesSeconds = d * 86_400 }
            if let d = r.double("keep_records_days", in: 0...36_500) { retention.keepRecordsSeconds = d * 86_400 }
            if let g = r.double("max_spool_gb", in: 0...1_000_000) { retention.maxSpoolBytes = UInt64(g * 1_073_741_824) }
            if let s = r.double("sweep_interval_seconds", in: 0.05...86_400) { retention.sweepIntervalSeconds = s }
            if retention.keepRecordsSeconds < retention.keepImagesSeconds {
                r.problem("keep_records_days", "must be at least keep_images_days: the job list outlives the images it names")
            }
        }

        guard let aeTitle, let port else { return nil }
        let listener = ListenerSettings(aeTitle: aeTitle, port: UInt16(port), maxAssociations: maxAssociations,
                                        acseTimeoutSeconds: acse, dimseTimeoutSeconds: dimse,
                                        acceptUnknownModalities: acceptUnknown, tls: listenerTLS)
        if !acceptUnknown && modalities.isEmpty {
            reader.problem(at: "gateway", "no [[modality]] is listed and accept_unknown_modalities is false, so no modality could send; add a [[modality]] block or set accept_unknown_modalities = true")
        }
        var configuration = GatewayConfiguration(file: reader.fileURL, listener: listener, dataDirectory: dataDir,
                                                 minFreeDiskBytes: UInt64(minFreeMB) * 1_048_576, modalities: modalities,
                                                 destinations: destinations, http: http, analysis: analysis, delivery: delivery)
        configuration.retention = retention
        if let t = table("review") { configuration.review = review(t, http: http, reader: reader, base: base) }
        return configuration
    }

    private static func destination(_ t: TOMLTable, path: String, reader: ConfigReader, base: URL, dataDir: URL, gatewayAE: String) -> DestinationSettings? {
        let d = reader.section(t, path: path, known: ["name", "type", "outputs", "path", "ae_title", "host", "port",
                                                      "calling_ae_title", "timeout_seconds", "max_associations", "keep_association_seconds", "tls"])
        let name = d.string("name", required: "\"archive\"")
        if let name, name.isEmpty || name.contains("/") { d.problem("name", "'\(name)' is not a usable name; use letters, digits, - or _") }
        let type = d.string("type", required: "\"folder\" or \"dicom\"")
        var outputs: Set<OutputKind> = []
        let allowed: [OutputKind] = [.seg, .sr, .pr, .svg]
        for o in d.stringArray("outputs") ?? [] {
            if let kind = OutputKind(rawValue: o.lowercased()), allowed.contains(kind) { outputs.insert(kind) }
            else {
                var message = "unknown output '\(o)'; choose from \"seg\", \"sr\", \"pr\", \"svg\""
                if let guess = closestKey(to: o, among: allowed.map(\.rawValue)) { message += " (did you mean \"\(guess)\"?)" }
                d.problem("outputs", message)
            }
        }
        if !d.has("outputs") { d.problem("outputs", "missing; add outputs = [\"seg\", \"sr\", \"pr\"] (folder destinations may add \"svg\")") }
        guard let name, let type else { return nil }
        switch type {
        case "folder":
            for key in ["ae_title", "host", "port", "calling_ae_title", "max_associations", "keep_association_seconds", "tls"]
            where d.has(key) {
                d.problem(key, "'\(key)' only applies to type = \"dicom\"; remove it or change the type")
            }
            let folder = resolve(d.string("path") ?? DataDirectory.defaultFolderDestinationPath(name: name), base: dataDir)
            if let conflict = DataDirectory(dataDir).conflict(withDestinationFolder: folder) {
                d.problem(d.has("path") ? "path" : "name",
                          "the folder '\(folder.path)' cannot take results: \(conflict); give the destination another \(d.has("path") ? "path" : "name, or a path")")
            }
            return DestinationSettings(name: name, kind: .folder(path: folder), outputs: outputs)
        case "dicom":
            if d.has("path") { d.problem("path", "'path' only applies to type = \"folder\"; remove it or change the type") }
            if outputs.contains(.svg) { d.problem("outputs", "\"svg\" is not a DICOM object and cannot be sent to a PACS; remove it (folder destinations can take it)") }
            let ae = d.string("ae_title", required: "\"PACS\"").flatMap { validAETitle($0, d, "ae_title") }
            let host = d.string("host", required: "\"pacs.example.org\"")
            if let host, host.isEmpty { d.problem("host", "empty host; give the PACS host name or IP") }
            let port = d.int("port", in: 1...65535, required: "104")
            let calling = d.string("calling_ae_title").flatMap { validAETitle($0, d, "calling_ae_title") } ?? gatewayAE
            let timeout = d.int("timeout_seconds", in: 1...3600) ?? 30
            let associations = d.int("max_associations", in: 1...16) ?? 2
            let keep = d.int("keep_association_seconds", in: 0...3600) ?? 10
            var tls: TLSSettings?
            if let tt = d.table("tls") {
                let s = reader.section(tt, path: "\(path).tls", known: ["enabled", "certificate", "private_key", "trusted_certificates", "verify_peer"])
                if s.bool("enabled") ?? true { tls = tlsSettings(s, base: base, requireKey: "verify_peer") }
            }
            guard let ae, let host, !host.isEmpty, let port else { return nil }
            return DestinationSettings(name: name, kind: .dicom(DICOMDestinationSettings(
                aeTitle: ae, host: host, port: UInt16(port), callingAETitle: calling, timeoutSeconds: timeout, tls: tls,
                maxAssociations: associations, keepAssociationSeconds: keep)), outputs: outputs)
        default:
            var message = "unknown destination type '\(type)'; use \"folder\" or \"dicom\""
            if let guess = closestKey(to: type, among: ["folder", "dicom"]) { message += " (did you mean \"\(guess)\"?)" }
            d.problem("type", message)
            return nil
        }
    }

    /// `[review]`: the reading room shows patient data, so off loopback it needs HTTPS.
    private static func review(_ t: TOMLTable, http: HTTPSettings, reader: ConfigReader, base: URL) -> ReviewSettings {
        let r = reader.section(t, path: "review", known: ["enabled", "session_hours", "certificate", "private_key",
                                                          "failed_logins_before_pause", "login_pause_seconds", "organization"])
        var review = ReviewSettings()
        review.enabled = r.bool("enabled") ?? false
        if let h = r.double("session_hours", in: 0.001...168) { review.sessionLifetimeSeconds = h * 3600 }
        if let n = r.int("failed_logins_before_pause", in: 1...100) { review.failedLoginsBeforePause = n }
        if let s = r.double("login_pause_seconds", in: 1...86_400) { review.loginPauseSeconds = s }
        if let o = r.string("organization") { review.organization = o }
        let cert = r.string("certificate"), key = r.string("private_key")
        if (cert == nil) != (key == nil) {
            r.problem(cert == nil ? "private_key" : "certificate",
                      "HTTPS needs both certificate and private_key (PEM files); give both or neither")
        }
        if let cert, let key {
            let c = resolve(cert, base: base).path, k = resolve(key, base: base).path
            var readable = true
            for (name, p) in [("certificate", c), ("private_key", k)] where !FileManager.default.isReadableFile(atPath: p) {
                r.problem(name, "cannot read '\(p)'; give the path of a PEM file (relative to the config file)")
                readable = false
            }
            if readable { checkKeyPair(certificate: c, key: k, r) }
            review.certificateFile = c
            review.privateKeyFile = k
        }
        if review.enabled && !http.enabled {
            r.problem("enabled", "the reading room is served on the [http] port, which is off; set [http] enabled = true or [review] enabled = false")
        }
        if review.enabled && !review.usesTLS && !ReviewSettings.isLoopback(http.bindAddress) {
            r.problem("enabled", "the reading room shows patient data and [http] bind = \"\(http.bindAddress)\" reaches other machines, so it needs HTTPS: set certificate and private_key here (PEM files), or set [http] bind = \"127.0.0.1\" and put a TLS proxy in front")
        }
        return review
    }

    private static func tlsSettings(_ s: ConfigSection, base: URL, requireKey: String) -> TLSSettings? {
        let cert = s.string("certificate", required: "\"tls/gateway.crt\"")
        let key = s.string("private_key", required: "\"tls/gateway.key\"")
        let trusted = s.string("trusted_certificates")
        var paths: [String: String] = [:]
        for (k, v) in [("certificate", cert), ("private_key", key), ("trusted_certificates", trusted)] {
            guard let v else { continue }
            let p = resolve(v, base: base).path
            if !FileManager.default.isReadableFile(atPath: p) { s.problem(k, "cannot read '\(p)'; give the path of a PEM file (relative to the config file)") }
            paths[k] = p
        }
        let require = s.bool(requireKey) ?? (trusted != nil)
        if require && trusted == nil { s.problem(requireKey, "needs trusted_certificates (the CA or peer certificates to check against)") }
        guard let c = paths["certificate"], let k = paths["private_key"] else { return nil }
        checkKeyPair(certificate: c, key: k, s)
        return TLSSettings(certificateFile: c, privateKeyFile: k, trustedCertificatesFile: paths["trusted_certificates"], requirePeerCertificate: require)
    }

    /// The key must belong to the certificate, or every TLS handshake fails once `serve` runs.
    /// Unreadable files are already reported by the caller.
    private static func checkKeyPair(certificate: String, key: String, _ s: ConfigSection) {
        let manager = FileManager.default
        guard manager.isReadableFile(atPath: certificate), manager.isReadableFile(atPath: key) else { return }
        let file = try? CertificateFile.inspect(certificate: certificate, privateKey: key)
        switch file?.key {
        case .matches?:
            break
        case .mismatch?:
            s.problem("private_key", "'\(key)' is not the private key of the certificate '\(certificate)'; give the key the certificate was issued for (the output of `openssl x509 -noout -pubkey -in CERT` and `openssl pkey -pubout -in KEY` must be equal)")
        case .unreadable?:
            s.problem("private_key", "'\(key)' is not a readable PEM private key; give an unencrypted PEM key (encrypted keys are not supported)")
        case nil:
            s.problem("certificate", "'\(certificate)' is not a readable PEM certificate; give the certificate in PEM form (-----BEGIN CERTIFICATE-----)")
        }
    }

    /// DICOM AE titles: 1-16 characters, no backslash or control characters, not only spaces.
    private static func validAETitle(_ ae: String, _ s: ConfigSection, _ key: String) -> String? {
        let trimmed = ae.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || ae.count > 16 || ae.contains("\\") || ae.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value > 0x7E }) {
            s.problem(key, "'\(ae)' is not a valid AE title; use 1 to 16 ASCII characters without backslash, e.g. \"US_ROOM1\"")
            return nil
        }
        return trimmed
    }

    static func resolve(_ path: String, base: URL) -> URL {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return URL(fileURLWithPath: expanded).standardizedFileURL }
        return base.appendingPathComponent(expanded).standardizedFileURL
    }

    private static func checkWritable(_ dir: URL, _ s: ConfigSection, _ key: String) {
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let probe = dir.appendingPathComponent(".write-probe-\(getpid())")
            try Data("ok".utf8).write(to: probe)
            try FileManager.default.removeItem(at: probe)
        } catch {
            s.problem(key, "'\(dir.path)' cannot be created or written (\(error.localizedDescription)); choose a folder the gateway's user can write")
        }
    }
}
