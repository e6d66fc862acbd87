// Process-wide DCMTK networking set-up: logging and TLS layers.
#include "net_internal.hpp"
#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmnet/dul.h"
#include "dcmtk/dcmnet/dimse.h"
#include "dcmtk/dcmnet/dcmtrans.h"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "dcmtk/oflog/oflog.h"
#include "dcmtk/oflog/logger.h"
#include "dcmtk/oflog/appender.h"
#include "dcmtk/oflog/spi/logevent.h"
#include <atomic>
#include <cstring>
#include <mutex>

namespace {

std::atomic<wc_net_log_sink> g_sink{nullptr};

// Forwards DCMTK warnings and errors to the Swift sink instead of stderr.
class SinkAppender : public dcmtk::log4cplus::Appender {
public:
    SinkAppender() {}
    ~SinkAppender() { destructorImpl(); }
    void close() override {}

protected:
    void append(const dcmtk::log4cplus::spi::InternalLoggingEvent &event) override {
        wc_net_log_sink sink = g_sink.load();
        if (sink == nullptr) return;
        const int level = event.getLogLevel();
        const int mapped = level >= dcmtk::log4cplus::FATAL_LOG_LEVEL   ? 5
                           : level >= dcmtk::log4cplus::ERROR_LOG_LEVEL ? 4
                                                                        : 3;
        sink(mapped, event.getLoggerName().c_str(), event.getMessage().c_str());
    }
};

std::once_flag g_initOnce;
std::mutex g_logMutex;

void configureLogging() {
    std::lock_guard<std::mutex> lock(g_logMutex);
    dcmtk::log4cplus::Logger root = dcmtk::log4cplus::Logger::getRoot();
    root.removeAllAppenders();
    if (g_sink.load() != nullptr) {
        root.addAppender(dcmtk::log4cplus::SharedAppenderPtr(new SinkAppender()));
        root.setLogLevel(dcmtk::log4cplus::WARN_LOG_LEVEL);
    } else {
        root.setLogLevel(dcmtk::log4cplus::OFF_LOG_LEVEL);
    }
}

} // namespace

namespace wecare_net {

void ensureInitialized() {
    std::call_once(g_initOnce, [] {
        OFLog::getLogger("dcmtk"); // makes oflog set up its defaults before we replace them
        configureLogging();
        dcmDisableGethostbyaddr.set(OFTrue); // the peer IP, never a slow reverse lookup
        // Datasets go out with undefined-length sequences and items and without group lengths:
        // explicit lengths make DCMTK sum every nested item again at each level (the SR's
        // content tree is 6-8 deep). Commands keep their (0000,0000); DIMSE forces it.
        g_dimse_send_sequenceType_encoding = EET_UndefinedLength;
        g_dimse_send_groupLength_encoding = EGL_withoutGL;
        DcmTLSTransportLayer::initializeOpenSSL();
    });
}

extern "C" int wc_dicom_dictionary_load(void) { return dcmDataDict.isDictionaryLoaded() ? 1 : 0; }

void setError(wc_net_error *error, int kind, const std::string &message) {
    if (error == nullptr) return;
    error->kind = kind;
    copyString(error->message, sizeof error->message, message.c_str());
}

void copyString(char *dest, size_t capacity, const char *src) {
    if (capacity == 0) return;
    if (src == nullptr) src = "";
    std::strncpy(dest, src, capacity - 1);
    dest[capacity - 1] = '\0';
}

bool sopUIDs(DcmDataset &dataset, std::string &sopClass, std::string &sopInstance) {
    OFString cls, inst;
    if (dataset.findAndGetOFString(DCM_SOPClassUID, cls).bad() || cls.empty() ||
        dataset.findAndGetOFString(DCM_SOPInstanceUID, inst).bad() || inst.empty())
        return false;
    sopClass = cls.c_str();
    sopInstance = inst.c_str();
    return true;
}

std::unique_ptr<DcmTLSTransportLayer> makeTLSLayer(const wc_tls_config &tls, T_ASC_NetworkRole role,
                                                   wc_net_error *error) {
    ensureInitialized();
    std::unique_ptr<DcmTLSTransportLayer> layer(new DcmTLSTransportLayer(role, nullptr, OFFalse));
    if (!configureTLSLayer(*layer, tls, role, error)) return nullptr;
    return layer;
}

bool configureTLSLayer(DcmTLSTransportLayer &layer, const wc_tls_config &tls, T_ASC_NetworkRole role,
                       wc_net_error *error) {
    ensureInitialized();
    if (!layer) {
        setError(error, WC_NET_TLS, "cannot create the TLS context (OpenSSL)");
        return false;
    }
    OFCondition cond = layer.setTLSProfile(TSP_Profile_BCP195);
    if (cond.good()) cond = layer.activateCipherSuites();
    if (cond.bad()) {
        setError(error, WC_NET_TLS, std::string("cannot activate the BCP 195 cipher suites: ") + cond.text());
        return false;
    }
    const bool hasCertificate = tls.certificate_file != nullptr && tls.certificate_file[0] != '\0';
    if (hasCertificate) {
        if (tls.private_key_file == nullptr ||
            layer.setPrivateKeyFile(tls.private_key_file, DCF_Filetype_PEM).bad()) {
            setError(error, WC_NET_TLS, "cannot load the private key (PEM, unencrypted)");
            return false;
        }
        if (layer.setCertificateFile(tls.certificate_file, DCF_Filetype_PEM).bad()) {
            setError(error, WC_NET_TLS, "cannot load the certificate (PEM)");
            return false;
        }
        if (!layer.checkPrivateKeyMatchesCertificate()) {
            setError(error, WC_NET_TLS, "the private key does not match the certificate");
            return false;
        }
    } else if (role == NET_ACCEPTOR) {
        setError(error, WC_NET_TLS, "a TLS server needs a certificate and a private key");
        return false;
    }
    if (tls.trusted_certificates_file != nullptr && tls.trusted_certificates_file[0] != '\0') {
        if (layer.addTrustedCertificateFile(tls.trusted_certificates_file, DCF_Filetype_PEM).bad()) {
            setError(error, WC_NET_TLS, "cannot load the trusted certificates (PEM)");
            return false;
        }
    } else if (tls.require_peer_certificate) {
        setError(error, WC_NET_TLS,
                 "verifying the peer's certificate needs trusted certificates (a PEM CA bundle or the peer's certificate)");
        return false;
    }
    // A server not requiring a client certificate still checks one that is presented: accepting
    // any certificate unchecked would let an unknown CA pass for a trusted one. An SCU that is not
    // to verify its server ignores the server's certificate (which every server presents).
    DcmCertificateVerification verification = DCV_requireCertificate;
    if (!tls.require_peer_certificate) verification = role == NET_ACCEPTOR ? DCV_checkCertificate : DCV_ignoreCertificate;
    layer.setCertificateVerification(verification);
    return true;
}

} // namespace wecare_net

extern "C" void wc_net_set_log_sink(wc_net_log_sink sink) {
    g_sink.store(sink);
    wecare_net::ensureInitialized();
    configureLogging();
}

namespace {
// DcmTransportConnection keeps getSocket() protected; a member pointer taken through a
// derived class reads it without changing DCMTK.
struct SocketOf : DcmTransportConnection {
    static DcmNativeSocketType get(DcmTransportConnection *connection) {
        DcmNativeSocketType (DcmTransportConnection::*getter)() = &SocketOf::getSocket;
        return (connection->*getter)();
    }
};
} // namespace

void wecare_net::acknowledgePromptly(T_ASC_Association *association) {
    if (association == nullptr || association->DULassociation == nullptr) return;
    DcmTransportConnection *connection = DUL_getTransportConnection(association->DULassociation);
    if (connection == nullptr) return;
    const DcmNativeSocketType fd = SocketOf::get(connection);
    const int on = 1;
    if (fd >= 0) (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
}
