/// DICOM TLS (PS3.15 B.1) for the Storage SCP and SCU; PEM files.
public struct TLSConfiguration: Sendable {
    public var certificateFile: String
    public var privateKeyFile: String
    /// CA bundle or peer certificates (PEM). nil: trust nobody (only useful without `requirePeerCertificate`).
    public var trustedCertificatesFile: String?
    /// SCP: refuse peers without a trusted certificate. SCU: verify the server's certificate.
    public var requirePeerCertificate: Bool

    public init(certificateFile: String, privateKeyFile: String,
                trustedCertificatesFile: String? = nil, requirePeerCertificate: Bool = true) {
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.trustedCertificatesFile = trustedCertificatesFile
        self.requirePeerCertificate = requirePeerCertificate
    }
}
