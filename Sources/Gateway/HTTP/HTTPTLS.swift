import Hummingbird
import HummingbirdCore
import HummingbirdTLS

/// HTTPS on the `[http]` port, with the certificate and key of `[review]` (the reading room
/// shows patient data). In its own file: NIOSSL's `TLSConfiguration` and the DICOM module's
/// TLS types share names.
enum HTTPTLS {
    /// Hummingbird's HTTP/1.1 server, wrapped in TLS when `certificate` and `privateKey` (PEM files) are given.
    static func server(idleTimeoutSeconds: Int, certificate: String?, privateKey: String?) throws -> HTTPServerBuilder {
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .seconds(Int64(idleTimeoutSeconds))))
        guard let certificate, let privateKey else { return http1 }
        let certificates = try NIOSSLCertificate.fromPEMFile(certificate)
        let key = try NIOSSLPrivateKey(file: privateKey, format: .pem)
        let tls = TLSConfiguration.makeServerConfiguration(certificateChain: certificates.map { .certificate($0) },
                                                           privateKey: .privateKey(key))
        return try .tls(http1, tlsConfiguration: tls)
    }
}
