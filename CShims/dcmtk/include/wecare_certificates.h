/* Reading TLS certificate files for `wecare selftest`: does the certificate parse, does the
 * private key belong to it, when does it expire. OpenSSL (which DCMTK's TLS uses) does the
 * reading; what is good enough is decided in Swift. */
#ifndef WECARE_CERTIFICATES_H
#define WECARE_CERTIFICATES_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int certificate_ok;      /* 1: the file holds a PEM certificate */
    int key_ok;              /* 1: the key file holds an unencrypted PEM private key (when one is given) */
    int key_matches;         /* 1: that key is the certificate's */
    int64_t not_before;      /* validity, seconds since 1970 UTC */
    int64_t not_after;
    char subject[256];       /* one-line subject, e.g. "CN=wecare.hospital.local" */
    char message[256];       /* why something is 0 above */
} wc_certificate_info;

/* Inspects the first certificate of `certificate_file` and, when `key_file` is not NULL, the
 * private key. Returns 0 when the certificate was read, -1 otherwise (message says why). */
int wc_certificate_inspect(const char *certificate_file, const char *key_file, wc_certificate_info *info);

/* Certificates in a PEM bundle (trusted CAs): their count (0 = none parsed) and the earliest
 * expiry among them in *earliest_not_after; -1 when the file cannot be opened. */
long wc_certificate_bundle(const char *pem_file, int64_t *earliest_not_after);

#ifdef __cplusplus
}
#endif
#endif
