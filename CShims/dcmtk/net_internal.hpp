// Helpers shared by net_*.cpp (not part of the C API).
#ifndef WECARE_NET_INTERNAL_HPP
#define WECARE_NET_INTERNAL_HPP
#include "wecare_net.h"
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmdata/dcdatset.h"
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
// The same set-up on a layer made by the caller (a subclass); false with *error on failure.
bool configureTLSLayer(DcmTLSTransportLayer &layer, const wc_tls_config &tls, T_ASC_NetworkRole role,
                       wc_net_error *error);

// Asks the kernel to acknowledge what arrives next on the association at once. A peer that
// writes a message in two parts with Nagle's algorithm on (DCMTK tools by default) otherwise
// waits out our delayed ACK, about 40 ms per message. The kernel returns to delayed ACKs on
// its own, so callers set it again before each message they wait for.
void acknowledgePromptly(T_ASC_Association *association);

// Copies a C string into a fixed buffer, always NUL-terminated.
void copyString(char *dest, size_t capacity, const char *src);

// SOP Class and Instance UID of a parsed object; false when either is missing or empty.
bool sopUIDs(DcmDataset &dataset, std::string &sopClass, std::string &sopInstance);

} // namespace wecare_net
#endif
