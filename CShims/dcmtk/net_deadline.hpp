// Cuts connections that overstay their deadline (not part of the C API).
//
// DCMTK bounds each read by the ACSE timeout, not the whole handshake: a peer that sends a byte
// now and then is never timed out. shutdown() on the socket makes every blocking read or write on
// it (DCMTK's PDU reads, OpenSSL's handshake) return at once, however the peer behaves; the owner
// keeps the descriptor and closes it as usual. The watchdog cuts through a duplicate descriptor of
// its own: DCMTK may close the original before disarm(), and a number reused meanwhile by another
// connection must never be cut.
#ifndef WECARE_NET_DEADLINE_HPP
#define WECARE_NET_DEADLINE_HPP
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

namespace wecare_net {

class DeadlineWatchdog {
public:
    using Clock = std::chrono::steady_clock;
    // Why a watched socket was shut down.
    enum class Cut { none, deadline, stopping };

    DeadlineWatchdog();
    ~DeadlineWatchdog();
    DeadlineWatchdog(const DeadlineWatchdog &) = delete;
    DeadlineWatchdog &operator=(const DeadlineWatchdog &) = delete;

    // Watches socket until disarm(ticket).
    uint64_t arm(int socket, Clock::time_point deadline);
    // Stops watching; says whether and why the socket was cut. Once it returns, the watchdog
    // never touches the socket again, so the caller may close it.
    Cut disarm(uint64_t ticket);
    // Cuts every watched socket now (the SCP is stopping).
    void cutAll();

private:
    struct Entry {
        int socket;     // the duplicate (or the original when dup() failed)
        bool duplicate;
        Clock::time_point deadline;
        Cut cut;
    };
    void run();

    std::mutex mutex_;
    std::condition_variable changed_;
    std::map<uint64_t, Entry> entries_;
    uint64_t nextTicket_ = 1;
    bool quit_ = false;
    std::thread thread_;
};

} // namespace wecare_net
#endif
