// The SCP's accept loop: a listener that only waits, and one handshake thread per connection.
#include "net_listener.hpp"
#include "net_accept_watch.hpp"
#include "wecare_net.h"
#include "dcmtk/dcmdata/dcerror.h"
#include "dcmtk/dcmnet/cond.h"
#include "dcmtk/dcmnet/dulstruc.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <system_error>

namespace wecare_net {

namespace {

// The peer's IP address, "" when the socket has none (already reset).
std::string peerAddress(int socket) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (getpeername(socket, reinterpret_cast<sockaddr *>(&address), &length) != 0) return "";
    char text[INET6_ADDRSTRLEN] = "";
    if (address.ss_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in *>(&address)->sin_addr, text, sizeof text);
    else if (address.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6 *>(&address)->sin6_addr, text, sizeof text);
    return text;
}

std::string errnoText(int error) { return std::system_category().message(error); }

// What ASC_receiveAssociation left behind when no association is handed on.
void dispose(T_ASC_Association *association, const OFCondition &cond) {
    if (association == nullptr) return;
    if (cond != DUL_NOASSOCIATIONREQUEST) ASC_dropAssociation(association);
    ASC_destroyAssociation(&association);
}

const std::chrono::milliseconds kAcceptBackoff(100);

} // namespace

struct Listener::Handshake {
    std::thread thread;
    std::atomic<bool> done{false};
    // Written and read on the handshake thread only.
    bool accepted = false;
    std::string peer;
    uint64_t ticket = 0;
};

// Arms the deadline and frees the listener the moment DCMTK has accepted the connection.
class Listener::Observer final : public AcceptObserver {
public:
    Observer(Listener &listener, Handshake &handshake) : listener_(listener), handshake_(handshake) {}

    void accepted(DcmNativeSocketType socket) override {
        handshake_.accepted = true;
        handshake_.peer = peerAddress(socket);
        handshake_.ticket = listener_.watchdog_.arm(socket, DeadlineWatchdog::Clock::now() + listener_.settings_.deadline);
        listener_.endAcceptPhase();
    }

private:
    Listener &listener_;
    Handshake &handshake_;
};

Listener::Listener(T_ASC_Network *network, Settings settings, Admit admit, Report report)
    : network_(network), settings_(settings), admit_(std::move(admit)), report_(std::move(report)) {
    listenSocket_ = OFreinterpret_cast(PRIVATE_NETWORKKEY *, network->network)->networkSpecific.TCP.listenSocket;
    // A pending connection can be reset between poll() and accept(): non-blocking, accept() then
    // fails at once instead of waiting for the next connection (ours and DCMTK's). Accepted
    // sockets do not inherit the flag on Linux, so DCMTK's reads and writes still block.
    const int flags = fcntl(listenSocket_, F_GETFL, 0);
    if (flags >= 0) (void)fcntl(listenSocket_, F_SETFL, flags | O_NONBLOCK);
}

Listener::~Listener() = default;

void Listener::run(const std::atomic<bool> &stop) {
    stop_ = &stop;
    while (!stop.load()) {
        reapFinished();
        pollfd pending{listenSocket_, POLLIN, 0};
        // stop() shuts the listening socket down, which ends this wait at once; the timeout only
        // lets finished handshake threads be joined while nobody connects.
        const int ready = poll(&pending, 1, 1000);
        if (stop.load()) break;
        if (ready < 0 && errno != EINTR) std::this_thread::sleep_for(kAcceptBackoff);
        if (ready <= 0 || (pending.revents & POLLIN) == 0) continue;
        reapFinished();
        if (handshakes_.size() >= settings_.maxHandshakes) refuseOverLimit();
        else startHandshake();
    }
    watchdog_.cutAll(); // handshakes still in progress end now and report WC_CONN_STOPPING
    for (auto &handshake : handshakes_) handshake->thread.join();
    handshakes_.clear();
}

void Listener::startHandshake() {
    {
        std::lock_guard<std::mutex> lock(acceptMutex_);
        acceptPhaseOver_ = false;
        acceptFailed_ = false;
    }
    std::unique_ptr<Handshake> handshake(new Handshake());
    Handshake *running = handshake.get();
    try {
        handshake->thread = std::thread([this, running] { this->runHandshake(*running); });
    } catch (const std::system_error &error) {
        report_("", WC_CONN_NETWORK_ERROR, std::string("cannot start a handshake thread: ") + error.what());
        std::this_thread::sleep_for(kAcceptBackoff); // the connection stays queued for the next try
        return;
    }
    handshakes_.push_back(std::move(handshake));
    bool failed;
    {
        std::unique_lock<std::mutex> lock(acceptMutex_);
        acceptChanged_.wait(lock, [this] { return acceptPhaseOver_; });
        failed = acceptFailed_;
    }
    // accept() failing while the connection stays pending (out of descriptors) would spin.
    if (failed) std::this_thread::sleep_for(kAcceptBackoff);
}

void Listener::endAcceptPhase() {
    {
        std::lock_guard<std::mutex> lock(acceptMutex_);
        acceptPhaseOver_ = true;
    }
    acceptChanged_.notify_all();
}

void Listener::runHandshake(Handshake &handshake) {
    Observer observer(*this, handshake);
    t_acceptObserver = &observer;
    T_ASC_Association *association = nullptr;
    // Asking for the raw A-ASSOCIATE-RQ tells whether one arrived at all: DCMTK ends a connection
    // closed before its first PDU like a normal one (good condition, empty parameters).
    void *request = nullptr;
    unsigned long requestLength = 0;
    // No wait in DCMTK's poll: the listener saw the connection pending; if it is gone, return.
    const OFCondition cond =
        ASC_receiveAssociation(network_, &association, settings_.maxReceivePDULength, &request, &requestLength,
                               settings_.secure ? OFTrue : OFFalse, DUL_NOBLOCK, 0);
    t_acceptObserver = nullptr;
    delete[] static_cast<char *>(request); // DCMTK allocates it with new char[]

    if (!handshake.accepted) {
        // Nothing accepted: the pending connection went away, or accept() itself failed.
        const bool failed = cond.bad() && cond != DUL_NOASSOCIATIONREQUEST;
        dispose(association, cond);
        if (failed) report_("", WC_CONN_NETWORK_ERROR, std::string("accepting a connection failed: ") + cond.text());
        {
            std::lock_guard<std::mutex> lock(acceptMutex_);
            acceptFailed_ = failed;
        }
        endAcceptPhase();
        handshake.done = true;
        return;
    }

    const DeadlineWatchdog::Cut cut = watchdog_.disarm(handshake.ticket);
    int reason = 0;
    std::string message = cond.text();
    if (cut == DeadlineWatchdog::Cut::stopping || (cond.good() && stop_->load())) {
        reason = WC_CONN_STOPPING;
        message = "the SCP is stopping";
        if (cond.good()) {
            T_ASC_RejectParameters rejection{ASC_RESULT_REJECTEDTRANSIENT, ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED,
                                             ASC_REASON_SP_PRES_TEMPORARYCONGESTION};
            ASC_rejectAssociation(association, &rejection);
        }
    } else if (cut == DeadlineWatchdog::Cut::deadline || cond == DUL_READTIMEOUT) {
        // DCMTK's own read timeout is the same ACSE timeout, per read: either way the deadline.
        reason = WC_CONN_DEADLINE;
        message = "no complete A-ASSOCIATE-RQ within " + std::to_string(settings_.deadline.count()) +
                  " s" + (settings_.secure ? " (TLS handshake included)" : "") + "; connection cut";
    } else if (cond.bad() && (cond.module() == OFM_dcmtls || (cond.module() == OFM_dcmnet && cond.code() == DULC_TLSERROR))) {
        // 3.6.7 passes the TLS layer's own condition on (module dcmtls, OpenSSL's words).
        reason = WC_CONN_TLS_FAILED;
    } else if (cond.bad()) {
        reason = WC_CONN_MALFORMED_PDU;
    } else if (requestLength == 0) {
        reason = WC_CONN_CLOSED_BEFORE_REQUEST;
        message = "the peer closed the connection without sending an A-ASSOCIATE-RQ";
    }
    if (reason != 0) {
        dispose(association, cond);
        report_(handshake.peer, reason, message);
    } else {
        admit_(association, handshake.peer);
    }
    handshake.done = true;
}

void Listener::refuseOverLimit() {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    const int socket = accept(listenSocket_, reinterpret_cast<sockaddr *>(&address), &length);
    if (socket < 0) {
        const int error = errno;
        if (error == EAGAIN || error == EWOULDBLOCK || error == EINTR || error == ECONNABORTED) return; // gone
        report_("", WC_CONN_NETWORK_ERROR, "accepting a connection failed: " + errnoText(error));
        std::this_thread::sleep_for(kAcceptBackoff);
        return;
    }
    const std::string peer = peerAddress(socket);
    close(socket);
    report_(peer, WC_CONN_HANDSHAKE_LIMIT,
            std::to_string(settings_.maxHandshakes) + " connections are in their handshake already; closed at once");
}

void Listener::reapFinished() {
    for (auto it = handshakes_.begin(); it != handshakes_.end();) {
        if ((*it)->done.load()) {
            (*it)->thread.join();
            it = handshakes_.erase(it);
        } else {
            ++it;
        }
    }
}

} // namespace wecare_net
