// Storage SCP: a DcmSCPPool of DcmThreadSCP workers; every decision is a callback into Swift.
#include "net_internal.hpp"
#include "net_accept_watch.hpp"
#include "net_listener.hpp"
#include "dcmtk/dcmnet/scppool.h"
#include "dcmtk/dcmnet/scpthrd.h"
#include "dcmtk/dcmnet/dulstruc.h"
#include "dcmtk/dcmnet/diutil.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace wecare_net;

namespace {

// What the pool and all its workers share; lives as long as the wc_scp.
struct ScpContext {
    wc_scp_callbacks callbacks;
    std::atomic<uint64_t> nextAssociationID{1};

    void connectionFailed(const std::string &peer, int reason, const std::string &message) const {
        if (callbacks.connection_failed != nullptr)
            callbacks.connection_failed(callbacks.context, peer.c_str(), reason, message.c_str());
    }
};

// The pool constructs workers with a default constructor on the thread that calls
// runAssociation (a handshake thread): this hands them their context.
thread_local ScpContext *t_constructingFor = nullptr;

// Holds a new worker back until runAssociation has returned. OFThread::start() writes the thread
// id into the worker after pthread_create returns, but a worker whose association ends at once
// (refused by Swift) can be through and deleted by the pool before that: the late write then
// lands in freed memory (seen as "malloc(): unsorted double linked list corrupted").
class StartGate {
public:
    void open() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            open_ = true;
        }
        opened_.notify_all();
    }
    void wait() {
        std::unique_lock<std::mutex> lock(mutex_);
        opened_.wait(lock, [this] { return open_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable opened_;
    bool open_ = false;
};
thread_local std::shared_ptr<StartGate> t_startGate;

class Worker : public DcmThreadSCP {
public:
    Worker() : context_(t_constructingFor), startGate_(t_startGate) {}

    OFCondition run(T_ASC_Association *incomingAssoc) override {
        if (startGate_) startGate_->wait();
        // DCMTK never joins pool workers it has deleted: detach so the thread's stack is freed.
        pthread_detach(pthread_self());
        association_ = incomingAssoc;
        associationID_ = context_->nextAssociationID.fetch_add(1);
        OFCondition result = DcmThreadSCP::run(incomingAssoc);
        // Every association Swift admitted ends exactly once, also when DCMTK refused it after
        // Swift said yes (no acceptable presentation context): Swift counts open associations.
        if (admitted_ && context_->callbacks.association_ended != nullptr) {
            context_->callbacks.association_ended(context_->callbacks.context, associationID_, callingAE_.c_str(),
                                                  outcome());
        }
        association_ = nullptr;
        return result;
    }

protected:
    void notifyAssociationRequest(const T_ASC_Parameters &params, DcmSCPActionType &desiredAction) override {
        callingAE_ = params.DULparams.callingAPTitle;
        peerAddress_ = params.DULparams.callingPresentationAddress;
        // The presentation address is "ip" or "ip:port" depending on the DCMTK build.
        const size_t colon = peerAddress_.rfind(':');
        if (colon != std::string::npos && peerAddress_.find(':') == colon) peerAddress_.resize(colon);
        wc_association_request request{callingAE_.c_str(), params.DULparams.calledAPTitle, peerAddress_.c_str()};
        uint8_t result = 1, source = 1, reason = 1;
        if (context_->callbacks.association_requested != nullptr &&
            context_->callbacks.association_requested(context_->callbacks.context, &request, &result, &source,
                                                      &reason) != 0) {
            rejection_.result = result == 2 ? ASC_RESULT_REJECTEDTRANSIENT : ASC_RESULT_REJECTEDPERMANENT;
            rejection_.source = OFstatic_cast(T_ASC_RejectParametersSource, source);
            rejection_.reason = OFstatic_cast(T_ASC_RejectParametersReason, (source << 8) | reason);
            rejectionPending_ = true;
            desiredAction = DCMSCP_ACTION_REFUSE_ASSOCIATION;
        } else {
            admitted_ = true;
        }
    }

    // DcmSCP maps a refusal from notifyAssociationRequest to "no reason, permanent": send the
    // result/source/reason Swift chose instead. DcmSCP drops the association afterwards.
    void refuseAssociation(const DcmRefuseReasonType reason) override {
        if (rejectionPending_ && association_ != nullptr) {
            rejectionPending_ = false;
            ASC_rejectAssociation(association_, &rejection_);
            return;
        }
        dcmtkRefusal_ = reason;
        dcmtkRefused_ = true;
        DcmThreadSCP::refuseAssociation(reason);
    }

    void notifyAssociationAcknowledge() override { accepted_ = true; }
    void notifyAbortRequest() override { aborted_ = true; }
    void notifyDIMSEError(const OFCondition &) override { aborted_ = true; }

    OFCondition handleIncomingCommand(T_DIMSE_Message *message, const DcmPresentationContextInfo &info) override {
        if (message->CommandField == DIMSE_C_STORE_RQ) return handleStore(message->msg.CStoreRQ, info);
        return DcmThreadSCP::handleIncomingCommand(message, info);
    }

private:
    OFCondition handleStore(T_DIMSE_C_StoreRQ &request, const DcmPresentationContextInfo &info) {
        T_ASC_PresentationContextID presID = info.presentationContextID;
        const wc_store_command command{callingAE_.c_str(),        peerAddress_.c_str(),
                                       request.AffectedSOPClassUID, request.AffectedSOPInstanceUID,
                                       info.acceptedTransferSyntax.c_str(), associationID_};
        std::vector<char> path(4096, '\0');
        Comment comment;
        uint16_t discardStatus = 0xA700;
        const int receive = context_->callbacks.store_requested(context_->callbacks.context, &command, path.data(),
                                                                path.size(), &discardStatus, comment.data(), comment.size());
        if (!receive) return drainAndAnswer(request, presID, discardStatus, comment);

        // Make sure the file can be created before the dataset starts flowing, so a bad
        // directory still gets a clean status instead of an aborted association.
        if (FILE *probe = std::fopen(path.data(), "wb")) {
            std::fclose(probe);
        } else {
            const uint16_t status = context_->callbacks.store_received(
                context_->callbacks.context, &command, nullptr, nullptr, nullptr, nullptr, "cannot create the output file",
                comment.data(), comment.size());
            return drainAndAnswer(request, presID, status, comment);
        }
        acknowledgePromptly(association_); // the dataset follows the command at once
        OFCondition cond = receiveSTORERequest(request, presID, OFString(path.data()));
        if (cond.bad()) {
            std::remove(path.data());
            std::string error = std::string("receiving the dataset failed: ") + cond.text();
            context_->callbacks.store_received(context_->callbacks.context, &command, nullptr, nullptr, nullptr, nullptr,
                                               error.c_str(), comment.data(), comment.size());
            return cond; // the association cannot continue after a broken dataset transfer
        }
        // The file is not parsed here: DCMTK's parser recurses once per nested sequence, and a
        // hostile dataset overflowed this thread's stack. Swift scans the file iteratively first.
        const uint16_t status = context_->callbacks.store_received(context_->callbacks.context, &command, path.data(),
                                                                   nullptr, nullptr, nullptr, nullptr,
                                                                   comment.data(), comment.size());
        OFCondition sent = answer(presID, request, status, comment);
        acknowledgePromptly(association_); // the modality's next command
        return sent;
    }

    // Error Comment is LO: 64 characters at most (Swift keeps to that; the buffer bounds it).
    using Comment = std::array<char, 65>;

    // The C-STORE response, with the Error Comment (0000,0902) Swift gave, if any, in its command set.
    OFCondition answer(T_ASC_PresentationContextID presID, T_DIMSE_C_StoreRQ &request, uint16_t status,
                       Comment &comment) {
        comment.back() = '\0';
        if (comment[0] == '\0') return sendSTOREResponse(presID, request, status);
        DcmDataset detail;
        detail.putAndInsertString(DCM_ErrorComment, comment.data());
        return sendSTOREResponse(presID, request.MessageID, request.AffectedSOPClassUID, request.AffectedSOPInstanceUID,
                                 status, &detail);
    }

    // Receives the dataset and drops it: nothing reaches the disk.
    OFCondition drainAndAnswer(T_DIMSE_C_StoreRQ &request, T_ASC_PresentationContextID presID, uint16_t status,
                               Comment &comment) {
        // Read and dropped PDV by PDV, never parsed: DCMTK's in-memory receive parses the dataset,
        // and its parser recurses once per nested sequence (a hostile dataset sent while the disk
        // is below its floor would overflow this thread's stack).
        acknowledgePromptly(association_);
        DIC_UL bytes = 0, pdvs = 0;
        OFCondition cond = DIMSE_ignoreDataSet(association_, getDIMSEBlockingMode(), OFstatic_cast(int, getDIMSETimeout()),
                                               &bytes, &pdvs);
        if (cond.bad()) return cond;
        return answer(presID, request, status, comment);
    }

    int outcome() const {
        if (accepted_) return aborted_ ? WC_ASSOC_ABORTED : WC_ASSOC_RELEASED;
        if (dcmtkRefused_ && dcmtkRefusal_ == DCMSCP_NO_PRESENTATION_CONTEXTS) return WC_ASSOC_NO_CONTEXT;
        // Refused by DCMTK's other checks, or dropped before an answer (e.g. the A-ASSOCIATE-AC
        // could not be sent): either way no association came of it.
        return dcmtkRefused_ ? WC_ASSOC_REFUSED : WC_ASSOC_ABORTED;
    }

    ScpContext *context_;
    std::shared_ptr<StartGate> startGate_;
    T_ASC_Association *association_ = nullptr;
    uint64_t associationID_ = 0;
    std::string callingAE_, peerAddress_;
    bool rejectionPending_ = false;
    T_ASC_RejectParameters rejection_{};
    bool admitted_ = false; // Swift accepted the request
    bool dcmtkRefused_ = false;
    DcmRefuseReasonType dcmtkRefusal_ = DCMSCP_INTERNAL_ERROR;
    bool accepted_ = false; // A-ASSOCIATE-AC sent
    bool aborted_ = false;
};

// The pool with our own accept loop (net_listener.cpp): it binds before start() returns, knows
// the bound port, does accept, TLS handshake and A-ASSOCIATE-RQ off the listener thread under one
// deadline each, stops at once, and waits for open associations to finish.
class Pool : public DcmSCPPool<Worker> {
public:
    explicit Pool(ScpContext *context) : context_(context) {}

    void serve(T_ASC_Network *network, const Listener::Settings &settings) {
        DcmSharedSCPConfig shared(getConfig());
        Listener listener(
            network, settings,
            [this, &shared](T_ASC_Association *assoc, const std::string &peer) { admit(assoc, peer, shared); },
            [this](const std::string &peer, int reason, const std::string &message) {
                context_->connectionFailed(peer, reason, message);
            });
        listener.run(stopRequested);
        while (numThreads(OFTrue) > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        // A worker leaves the busy list just before its thread exits: give it that moment.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }

    std::atomic<bool> stopRequested{false};

private:
    // On a handshake thread: a worker takes the association, or it is refused as DcmSCPPool does.
    void admit(T_ASC_Association *assoc, const std::string &peer, const DcmSharedSCPConfig &shared) {
        t_constructingFor = context_;
        std::shared_ptr<StartGate> gate = std::make_shared<StartGate>();
        t_startGate = gate;
        OFCondition cond = runAssociation(assoc, shared);
        t_constructingFor = nullptr;
        t_startGate.reset();
        gate->open(); // OFThread::start() has returned: the worker may run (and end) now
        if (cond.good()) return;
        const bool busy = cond == NET_EC_SCPBusy;
        rejectAssociation(assoc, busy ? ASC_REASON_SP_PRES_LOCALLIMITEXCEEDED : ASC_REASON_SP_PRES_TEMPORARYCONGESTION);
        dropAndDestroyAssociation(assoc);
        context_->connectionFailed(peer, busy ? WC_CONN_ASSOCIATION_LIMIT : WC_CONN_NETWORK_ERROR,
                                   busy ? "all " + std::to_string(getMaxThreads()) +
                                              " associations are busy; refused transient, local limit exceeded"
                                        : std::string("cannot start an association worker: ") + cond.text());
    }

    ScpContext *context_;
};

} // namespace

struct wc_scp {
    ScpContext context;
    std::unique_ptr<Pool> pool;
    // The network's transport layer, TLS or plain: either tells the handshake thread about the
    // socket it accepted (net_accept_watch.hpp).
    std::unique_ptr<DcmTransportLayer> layer;
    Listener::Settings listenerSettings{};
    T_ASC_Network *network = nullptr;
    std::thread listener;
    uint16_t boundPort = 0;
    std::mutex lifecycle;
    bool running = false;
};

extern "C" wc_scp *wc_scp_create(const wc_scp_config *config, const wc_scp_callbacks *callbacks,
                                 wc_net_error *error) {
    ensureInitialized();
    if (config == nullptr || callbacks == nullptr || callbacks->store_requested == nullptr ||
        callbacks->store_received == nullptr) {
        setError(error, WC_NET_CONFIG, "configuration and store callbacks are required");
        return nullptr;
    }
    if (config->ae_title == nullptr || config->ae_title[0] == '\0' || std::strlen(config->ae_title) > 16) {
        setError(error, WC_NET_CONFIG, "the AE title must be 1 to 16 characters");
        return nullptr;
    }
    if (config->max_associations < 1 || config->max_associations > 65535) {
        setError(error, WC_NET_CONFIG, "maxAssociations must be between 1 and 65535");
        return nullptr;
    }
    if (config->max_handshakes < 1 || config->max_handshakes > 65535) {
        setError(error, WC_NET_CONFIG, "maxHandshakes must be between 1 and 65535");
        return nullptr;
    }
    std::unique_ptr<wc_scp> scp(new wc_scp());
    scp->context.callbacks = *callbacks;
    scp->pool.reset(new Pool(&scp->context));
    DcmSCPConfig &cfg = scp->pool->getConfig();
    cfg.setAETitle(config->ae_title);
    cfg.setPort(config->port);
    cfg.setACSETimeout(OFstatic_cast(Uint32, config->acse_timeout_seconds > 0 ? config->acse_timeout_seconds : 30));
    cfg.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
    cfg.setDIMSETimeout(OFstatic_cast(Uint32, config->dimse_timeout_seconds > 0 ? config->dimse_timeout_seconds : 60));
    cfg.setHostLookupEnabled(OFFalse);
    // The largest PDU DCMTK accepts, so a modality sends an image in a few PDUs (16 KB ones, the
    // default, made a 300 KB image about 20 reads, writes and PDV headers).
    cfg.setMaxReceivePDULength(ASC_MAXIMUMPDUSIZE);
    scp->pool->setMaxThreads(OFstatic_cast(Uint16, config->max_associations));
    for (size_t i = 0; i < config->context_count; ++i) {
        const wc_presentation_context &pc = config->contexts[i];
        OFList<OFString> syntaxes;
        for (size_t j = 0; j < pc.transfer_syntax_count; ++j) syntaxes.push_back(pc.transfer_syntaxes[j]);
        OFCondition cond = cfg.addPresentationContext(pc.sop_class_uid, syntaxes);
        if (cond.bad()) {
            setError(error, WC_NET_CONFIG, std::string("cannot accept SOP class ") + pc.sop_class_uid + ": " + cond.text());
            return nullptr;
        }
    }
    if (config->tls != nullptr) {
        std::unique_ptr<AcceptWatchingLayer<DcmTLSTransportLayer>> tls(
            new AcceptWatchingLayer<DcmTLSTransportLayer>(NET_ACCEPTOR, nullptr, OFFalse));
        if (!configureTLSLayer(*tls, *config->tls, NET_ACCEPTOR, error)) return nullptr;
        cfg.setTransportLayer(tls.get());
        scp->layer = std::move(tls);
    } else {
        scp->layer.reset(new AcceptWatchingLayer<DcmTransportLayer>());
    }
    scp->listenerSettings.deadline = std::chrono::seconds(cfg.getACSETimeout());
    scp->listenerSettings.maxHandshakes = OFstatic_cast(size_t, config->max_handshakes);
    scp->listenerSettings.secure = config->tls != nullptr;
    scp->listenerSettings.maxReceivePDULength = OFstatic_cast(long, cfg.getMaxReceivePDULength());
    return scp.release();
}

extern "C" int wc_scp_start(wc_scp *scp, wc_net_error *error) {
    std::lock_guard<std::mutex> lock(scp->lifecycle);
    if (scp->running) return WC_NET_OK;
    DcmSCPConfig &cfg = scp->pool->getConfig();
    OFCondition cond = ASC_initializeNetwork(NET_ACCEPTOR, OFstatic_cast(int, cfg.getPort()),
                                             OFstatic_cast(int, cfg.getACSETimeout()), &scp->network);
    if (cond.bad()) {
        setError(error, WC_NET_LISTEN, cond.text());
        return WC_NET_LISTEN;
    }
    cond = ASC_setTransportLayer(scp->network, scp->layer.get(), 0);
    if (cond.bad()) {
        ASC_dropNetwork(&scp->network);
        const int kind = scp->listenerSettings.secure ? WC_NET_TLS : WC_NET_LISTEN;
        setError(error, kind, cond.text());
        return kind;
    }
    // Read back the port actually bound (the configured one, or the kernel's pick for 0).
    PRIVATE_NETWORKKEY *key = OFreinterpret_cast(PRIVATE_NETWORKKEY *, scp->network->network);
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    scp->boundPort = cfg.getPort();
    if (getsockname(key->networkSpecific.TCP.listenSocket, OFreinterpret_cast(sockaddr *, &address), &length) == 0) {
        if (address.ss_family == AF_INET) scp->boundPort = ntohs(OFreinterpret_cast(sockaddr_in *, &address)->sin_port);
        if (address.ss_family == AF_INET6) scp->boundPort = ntohs(OFreinterpret_cast(sockaddr_in6 *, &address)->sin6_port);
    }
    scp->pool->stopRequested.store(false);
    Pool *pool = scp->pool.get();
    T_ASC_Network *network = scp->network;
    const Listener::Settings settings = scp->listenerSettings;
    scp->listener = std::thread([pool, network, settings] { pool->serve(network, settings); });
    scp->running = true;
    return WC_NET_OK;
}

extern "C" uint16_t wc_scp_bound_port(const wc_scp *scp) { return scp->boundPort; }

extern "C" void wc_scp_stop(wc_scp *scp) {
    std::lock_guard<std::mutex> lock(scp->lifecycle);
    if (!scp->running) return;
    scp->pool->stopRequested.store(true);
    // Wakes the listener at once instead of at its one-second poll.
    PRIVATE_NETWORKKEY *key = OFreinterpret_cast(PRIVATE_NETWORKKEY *, scp->network->network);
    shutdown(key->networkSpecific.TCP.listenSocket, SHUT_RDWR);
    scp->listener.join();
    ASC_dropNetwork(&scp->network);
    scp->network = nullptr;
    scp->running = false;
}

extern "C" void wc_scp_destroy(wc_scp *scp) {
    if (scp == nullptr) return;
    wc_scp_stop(scp);
    delete scp;
}
