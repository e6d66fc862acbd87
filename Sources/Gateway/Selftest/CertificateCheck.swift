import DICOM
import Foundation

/// TLS certificate files of the listener (`[tls]`) and of every DICOM destination
/// (`[destination.tls]`): the certificate reads, its key is the one it was issued for, it is in
/// its validity period, and so are the trusted certificates. Expiry within 30 days is a warning:
/// the time to renew it before modalities or the PACS start refusing the gateway.
public enum CertificateCheck {
    public static let renewalWarning: TimeInterval = 30 * 86_400

    /// One result per TLS configuration; none when TLS is not used.
    public static func run(_ configuration: GatewayConfiguration, now: Date = Date()) -> [SelftestResult] {
        var results: [SelftestResult] = []
        if let tls = configuration.listener.tls { results.append(check(tls, name: "tls [tls]", now: now)) }
        for d in configuration.destinations {
            if case .dicom(let settings) = d.kind, let tls = settings.tls {
                results.append(check(tls, name: "tls \(d.name)", now: now))
            }
        }
        return results
    }

    static func check(_ tls: TLSSettings, name: String, now: Date) -> SelftestResult {
        let cert: CertificateFile
        do { cert = try CertificateFile.inspect(certificate: tls.certificateFile, privateKey: tls.privateKeyFile) } catch {
            return SelftestResult(.fail, name, "\(error)")
        }
        switch cert.key {
        case .matches?, nil: break
        case .mismatch(let why)?, .unreadable(let why)?:
            return SelftestResult(.fail, name, "\(tls.privateKeyFile) is not the private key of \(tls.certificateFile) "
                + "(\(why)); configure the key the certificate was issued for (unencrypted PEM)")
        }
        var worst: SelftestResult.Status = .ok
        var notes: [String] = []
        func validity(_ what: String, _ file: String, notBefore: Date?, notAfter: Date) {
            if notAfter <= now {
                worst = max(worst, .fail)
                notes.append("\(what) \(file) expired on \(day(notAfter)); renew it")
            } else if let notBefore, notBefore > now {
                worst = max(worst, .fail)
                notes.append("\(what) \(file) is not valid before \(day(notBefore)); check this machine's clock or the certificate")
            } else if notAfter.timeIntervalSince(now) < renewalWarning {
                worst = max(worst, .warn)
                notes.append("\(what) \(file) expires on \(day(notAfter)), in \(Int(notAfter.timeIntervalSince(now) / 86_400)) day(s); renew it now")
            }
        }
        validity("certificate", tls.certificateFile, notBefore: cert.notBefore, notAfter: cert.notAfter)
        var trusted = ""
        if let bundle = tls.trustedCertificatesFile {
            do {
                let (count, earliest) = try CertificateFile.bundle(bundle)
                if let earliest {
                    validity("a trusted certificate in", bundle, notBefore: nil, notAfter: earliest)
                    trusted = ", \(count) trusted certificate(s)"
                } else {
                    worst = .fail
                    notes.append("no PEM certificate in trusted_certificates \(bundle); give the CA or peer certificates")
                }
            } catch {
                worst = .fail
                notes.append("\(error)")
            }
        }
        if worst != .ok { return SelftestResult(worst, name, notes.joined(separator: "; ")) }
        let days = Int(cert.notAfter.timeIntervalSince(now) / 86_400)
        return SelftestResult(.ok, name, "\(cert.subject), key matches, valid until \(day(cert.notAfter)) (\(days) days)\(trusted)")
    }

    static func day(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd"
        return f.string(from: date)
    }
}
