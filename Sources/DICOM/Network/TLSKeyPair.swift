import CDCMTK

/// Whether a PEM private key belongs to a PEM certificate, loaded exactly as the Storage SCP and
/// SCU load them, so a configuration check can say so before `serve` fails on it.
public enum TLSKeyPair: Sendable, Equatable {
    case matches
    /// Both load, but the key is not the certificate's.
    case mismatch
    case unreadableCertificate
    /// Not a readable, unencrypted PEM private key.
    case unreadableKey

    public static func check(certificateFile: String, privateKeyFile: String) -> TLSKeyPair {
        switch wc_tls_check_key_pair(certificateFile, privateKeyFile) {
        case Int32(WC_TLS_PAIR_OK): return .matches
        case Int32(WC_TLS_PAIR_MISMATCH): return .mismatch
        case Int32(WC_TLS_PAIR_BAD_KEY): return .unreadableKey
        default: return .unreadableCertificate
        }
    }
}
