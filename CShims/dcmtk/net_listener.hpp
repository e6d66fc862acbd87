// The SCP's accept loop (not part of the C API).
//
// The listener thread only waits for a pending connection. Each connection gets a handshake
// thread that accepts it, does the TLS handshake and reads the A-ASSOCIATE-RQ under one deadline,
// then hands the association on (admit) or reports why it ended (report). A silent or trickling
// client so costs one handshake slot for at most the deadline, never the listener.
#ifndef WECARE_NET_LISTENER_HPP
#define WECARE_NET_LISTENER_HPP
#include "net_deadline.hpp"
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmnet/assoc.h"
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace wecare_net {

class Listener {
public:
    struct Settings {
        std::chrono::seconds deadline; // accept + TLS handshake + A-ASSOCIATE-RQ
        size_t maxHandshakes;
        bool secure;                   // the network's transport layer is TLS
        long maxReceivePDULength;
    };
    // Takes over a received association (runs on the handshake thread).
    using Admit = std::function<void(T_ASC_Association *association, const std::string &peer)>;
    // A connection that ended before admit (WC_CONN_* reason); peer "" when unknown.
    using Report = std::function<void(const std::string &peer, int reason, const std::string &message)>;

    // network's transport layer must be an AcceptWatchingLayer (net_accept_watch.hpp).
    Listener(T_ASC_Network *network, Settings settings, Admit admit, Report report);
    ~Listener();

    // Serves until stop is set (and the listening socket shut down to wake it), then cuts the
    // handshakes still in progress and waits for their threads.
    void run(const std::atomic<bool> &stop);

private:
    struct Handshake;
    class Observer;

    void startHandshake();
    void runHandshake(Handshake &handshake);
    void refuseOverLimit();
    void reapFinished();
    void endAcceptPhase();

    T_ASC_Network *network_;
    int listenSocket_;
    Settings settings_;
    Admit admit_;
    Report report_;
    const std::atomic<bool> *stop_ = nullptr;
    DeadlineWatchdog watchdog_;
    std::list<std::unique_ptr<Handshake>> handshakes_; // listener thread only
    // Only one thread accepts at a time: the listener waits here until the new handshake thread
    // has accepted (or found nothing to accept) before it polls again.
    std::mutex acceptMutex_;
    std::condition_variable acceptChanged_;
    bool acceptPhaseOver_ = false;
    bool acceptFailed_ = false;
};

} // namespace wecare_net
#endif
