import CDCMTK
import Foundation

/// What a PEM certificate file (and its private key) says, read with OpenSSL: for checks
/// before TLS is needed (`wecare check-config`, `wecare selftest`), not for the handshake itself.
public struct CertificateFile: Sendable, Equatable {
    public var subject: String
    public var notBefore: Date
    public var notAfter: Date
    /// nil when no key file was given.
    public var key: KeyStatus?

    public enum KeyStatus: Sendable, Equatable {
        /// An unencrypted PEM private key that belongs to the certificate.
        case matches
        /// A readable key, but not the certificate's (OpenSSL's reason).
        case mismatch(String)
        /// Not an unencrypted PEM private key (why).
        case unreadable(String)
    }

    /// Reads the first certificate of `certificate` and, when given, the key.
    /// - Throws: `CertificateFileError.unreadable` when no certificate can be read.
    public static func inspect(certificate: String, privateKey: String?) throws -> CertificateFile {
        var info = wc_certificate_info()
        let status = wc_certificate_inspect(certificate, privateKey, &info)
        let message = withUnsafeBytes(of: info.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard status == 0, info.certificate_ok == 1 else {
            throw CertificateFileError.unreadable(path: certificate, reason: message)
        }
        let subject = withUnsafeBytes(of: info.subject) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return CertificateFile(subject: subject, notBefore: Date(timeIntervalSince1970: TimeInterval(info.not_before)),
                               notAfter: Date(timeIntervalSince1970: TimeInterval(info.not_after)),
                               key: privateKey == nil ? nil
                                   : info.key_ok != 1 ? .unreadable(message)
                                   : info.key_matches == 1 ? .matches : .mismatch(message))
    }

    /// The certificates of a PEM bundle (trusted CAs): how many, and the earliest expiry.
    public static func bundle(_ path: String) throws -> (count: Int, earliestExpiry: Date?) {
        var earliest: Int64 = 0
        let n = wc_certificate_bundle(path, &earliest)
        guard n >= 0 else { throw CertificateFileError.unreadable(path: path, reason: "cannot open the file") }
        return (n, n > 0 ? Date(timeIntervalSince1970: TimeInterval(earliest)) : nil)
    }
}

public enum CertificateFileError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): \(reason); give a PEM certificate file"
        }
    }
}
