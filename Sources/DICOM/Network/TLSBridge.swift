import CDCMTK

extension TLSConfiguration {
    /// The C view; strings live as long as `arena`.
    func cValue(in arena: CStringArena) -> wc_tls_config {
        wc_tls_config(certificate_file: arena.make(certificateFile),
                      private_key_file: arena.make(privateKeyFile),
                      trusted_certificates_file: arena.makeOptional(trustedCertificatesFile),
                      require_peer_certificate: requirePeerCertificate ? 1 : 0)
    }
}

extension DICOMNetworkError {
    /// The Swift error for a failed shim call.
    init(_ error: wc_net_error, host: String = "", port: UInt16 = 0) {
        let message = String(fixedCString: error.message)
        switch Int32(error.kind) {
        case Int32(WC_NET_CONNECT_FAILED):
            self = .connectionFailed(host: host, port: port, reason: message)
        case Int32(WC_NET_REJECTED):
            self = .associationRejected(result: error.result, source: error.source, reason: error.reason,
                                        description: message)
        case Int32(WC_NET_NO_CONTEXT):
            self = .noAcceptablePresentationContext(message)
        case Int32(WC_NET_TLS):
            self = .tlsFailed(message)
        case Int32(WC_NET_CONFIG):
            self = .invalidConfiguration(message)
        case Int32(WC_NET_LISTEN):
            self = .cannotListen(port: port, reason: message)
        default:
            self = .associationFailed(message)
        }
    }
}
