// One thread that shuts down watched sockets whose deadline has passed.
#include "net_deadline.hpp"
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wecare_net {

DeadlineWatchdog::DeadlineWatchdog() : thread_([this] { run(); }) {}

DeadlineWatchdog::~DeadlineWatchdog() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        quit_ = true;
    }
    changed_.notify_all();
    thread_.join();
}

uint64_t DeadlineWatchdog::arm(int socket, Clock::time_point deadline) {
    // Out of descriptors: the original is still right until its owner closes it, which it does
    // only after disarm() in every path but a peer closing first; better than no deadline.
    const int duplicate = fcntl(socket, F_DUPFD_CLOEXEC, 0);
    uint64_t ticket;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        ticket = nextTicket_++;
        entries_[ticket] = Entry{duplicate >= 0 ? duplicate : socket, duplicate >= 0, deadline, Cut::none};
    }
    changed_.notify_all(); // it may be earlier than the one the thread sleeps towards
    return ticket;
}

DeadlineWatchdog::Cut DeadlineWatchdog::disarm(uint64_t ticket) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = entries_.find(ticket);
    if (found == entries_.end()) return Cut::none;
    const Cut cut = found->second.cut;
    if (found->second.duplicate) close(found->second.socket);
    entries_.erase(found);
    return cut;
}

void DeadlineWatchdog::cutAll() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto &entry : entries_) {
        if (entry.second.cut != Cut::none) continue;
        entry.second.cut = Cut::stopping;
        shutdown(entry.second.socket, SHUT_RDWR);
    }
}

void DeadlineWatchdog::run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!quit_) {
        // shutdown() under the lock: disarm() takes it too, so a socket is never cut after its
        // owner was told it was not, and never after the owner may have closed it.
        auto next = Clock::time_point::max();
        const auto now = Clock::now();
        for (auto &entry : entries_) {
            if (entry.second.cut != Cut::none) continue;
            if (entry.second.deadline <= now) {
                entry.second.cut = Cut::deadline;
                shutdown(entry.second.socket, SHUT_RDWR);
            } else if (entry.second.deadline < next) {
                next = entry.second.deadline;
            }
        }
        if (next == Clock::time_point::max()) changed_.wait(lock);
        else changed_.wait_until(lock, next);
    }
}

} // namespace wecare_net
