// Whether a TLS private key belongs to its certificate, for check-config: loaded exactly as the SCP
// and SCU load them (DCMTK's TLS layer over OpenSSL), so a pair that passes here also loads there.
#include "net_internal.hpp"

extern "C" int wc_tls_check_key_pair(const char *certificate_file, const char *private_key_file) {
    wecare_net::ensureInitialized();
    if (certificate_file == nullptr || private_key_file == nullptr) return WC_TLS_PAIR_BAD_CERTIFICATE;
    DcmTLSTransportLayer layer(NET_ACCEPTOR, nullptr, OFFalse);
    if (!layer) return WC_TLS_PAIR_BAD_CERTIFICATE;
    // The key first: OpenSSL refuses a key that does not match a certificate loaded before it
    // (which would read as an unreadable key), but takes a certificate after a mismatching key
    // and only drops the key, which the check below then reports as a mismatch.
    if (layer.setPrivateKeyFile(private_key_file, DCF_Filetype_PEM).bad()) return WC_TLS_PAIR_BAD_KEY;
    if (layer.setCertificateFile(certificate_file, DCF_Filetype_PEM).bad()) return WC_TLS_PAIR_BAD_CERTIFICATE;
    return layer.checkPrivateKeyMatchesCertificate() ? WC_TLS_PAIR_OK : WC_TLS_PAIR_MISMATCH;
}
