// Certificate and key files read with OpenSSL for the self-test (see wecare_certificates.h).
#include "wecare_certificates.h"
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace {
void copy(char *dst, size_t len, const char *text) {
    if (dst == nullptr || len == 0) return;
    std::snprintf(dst, len, "%s", text);
}

// The last OpenSSL error as text ("" when none), clearing the queue.
void lastError(char *dst, size_t len, const char *what) {
    const unsigned long e = ERR_peek_last_error();
    char buf[200] = "";
    if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    std::snprintf(dst, len, "%s%s%s", what, e != 0 ? ": " : "", buf);
}

int64_t seconds(const ASN1_TIME *t) {
    struct tm tm;
    std::memset(&tm, 0, sizeof tm);
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    return int64_t(timegm(&tm));
}
}  // namespace

extern "C" int wc_certificate_inspect(const char *certificate_file, const char *key_file, wc_certificate_info *info) {
    std::memset(info, 0, sizeof *info);
    ERR_clear_error();
    FILE *f = std::fopen(certificate_file, "r");
    if (f == nullptr) {
        std::snprintf(info->message, sizeof info->message, "cannot open the certificate: %s", std::strerror(errno));
        return -1;
    }
    X509 *cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (cert == nullptr) {
        lastError(info->message, sizeof info->message, "no PEM certificate in the file");
        return -1;
    }
    info->certificate_ok = 1;
    info->not_before = seconds(X509_get0_notBefore(cert));
    info->not_after = seconds(X509_get0_notAfter(cert));
    X509_NAME_oneline(X509_get_subject_name(cert), info->subject, sizeof info->subject);
    if (key_file != nullptr) {
        FILE *k = std::fopen(key_file, "r");
        if (k == nullptr) {
            std::snprintf(info->message, sizeof info->message, "cannot open the private key: %s", std::strerror(errno));
        } else {
            // No passphrase callback: the gateway starts unattended, so its key must be unencrypted.
            EVP_PKEY *key = PEM_read_PrivateKey(k, nullptr, [](char *, int, int, void *) { return 0; }, nullptr);
            std::fclose(k);
            if (key == nullptr) {
                lastError(info->message, sizeof info->message, "no unencrypted PEM private key in the key file");
            } else {
                info->key_ok = 1;
                info->key_matches = X509_check_private_key(cert, key) == 1 ? 1 : 0;
                if (!info->key_matches) lastError(info->message, sizeof info->message, "the private key is not the certificate's");
                EVP_PKEY_free(key);
            }
        }
    }
    X509_free(cert);
    ERR_clear_error();
    return 0;
}

extern "C" long wc_certificate_bundle(const char *pem_file, int64_t *earliest_not_after) {
    *earliest_not_after = 0;
    FILE *f = std::fopen(pem_file, "r");
    if (f == nullptr) return -1;
    long count = 0;
    while (X509 *cert = PEM_read_X509(f, nullptr, nullptr, nullptr)) {
        const int64_t t = seconds(X509_get0_notAfter(cert));
        if (count == 0 || t < *earliest_not_after) *earliest_not_after = t;
        ++count;
        X509_free(cert);
    }
    std::fclose(f);
    ERR_clear_error();  // the read that ends the loop leaves "no start line"
    return count;
}
