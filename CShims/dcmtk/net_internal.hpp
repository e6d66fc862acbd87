// Helpers shared by net_*.cpp (not part of the C API).
#ifndef WECARE_NET_INTERNAL_HPP
#define WECARE_NET_INTERNAL_HPP
#include "wecare_net.h"
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmtls/tlslayer.h"
#include <memory>
#include <string>

namespace wecare_net {

// Process-wide set-up once: DCMTK console logging off (or routed to the sink), no reverse DNS.
void ensureInitialized();

// Fills an error struct; message is truncated to fit.
void setError(wc_net_error *error, int kind, const std::string &message);

// A TLS layer for an acceptor or requestor from PEM files; nullptr with *error on failure.
std::unique_ptr<DcmTLSTransportLayer> makeTLSLayer(const wc_tls_config &tls, T_ASC_NetworkRole role,
                                                   wc_net_error *error);

// Copies a C string into a fixed buffer, always NUL-terminated.
void copyString(char *dest, size_t capacity, const char *src);

} // namespace wecare_net
#endif
