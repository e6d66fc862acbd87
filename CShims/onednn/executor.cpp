// libgomp keeps a pool of worker threads for every thread that starts a parallel region, and
// once the pools' threads outnumber the CPUs it stops spinning and parks workers on a futex
// after every region: oneDNN starts one region per primitive, so each new calling thread made
// every primitive pay thread wake-ups. Multi-threaded oneDNN work therefore runs on long-lived
// master threads, no more at once than the CPUs hold their teams (CPUs / threads, at least
// one); one-thread work runs where it is called and forms no team.
#include "executor.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>
#include <algorithm>

extern "C" void omp_set_num_threads(int);
extern "C" int omp_get_max_threads(void);

namespace wecare_onednn {
namespace {

/// Set on master threads: work asked of them from their own tasks runs in place.
thread_local bool onMaster = false;

class Master {
public:
    Master() : thread_([this] { onMaster = true; loop(); }) { thread_.detach(); }

    void perform(int threads, const std::function<void()> &work) {
        std::mutex doneMutex;
        std::condition_variable doneSignal;
        bool done = false;
        std::exception_ptr failure;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            queue_.push_back([&] {
                omp_set_num_threads(threads);
                try { work(); } catch (...) { failure = std::current_exception(); }
                std::lock_guard<std::mutex> l(doneMutex);
                done = true;
                doneSignal.notify_one();
            });
        }
        ready_.notify_one();
        std::unique_lock<std::mutex> l(doneMutex);
        doneSignal.wait(l, [&] { return done; });
        if (failure) std::rethrow_exception(failure);
    }

private:
    void loop() {
        for (;;) {
            std::function<void()> task;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                ready_.wait(lock, [this] { return !queue_.empty(); });
                task = std::move(queue_.front());
                queue_.pop_front();
            }
            task();
        }
    }

    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::function<void()>> queue_;
    std::thread thread_;
};

/// Lends masters out, at most CPUs / threads at once; masters are made on first need and kept
/// (never destroyed: their threads outlive static teardown).
class Masters {
public:
    void perform(int threads, const std::function<void()> &work) {
        size_t cap = std::max<size_t>(1, std::max(1u, std::thread::hardware_concurrency()) / threads);
        Master *master = nullptr;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            released_.wait(lock, [&] { return busy_ < cap; });
            ++busy_;
            if (idle_.empty()) idle_.push_back(new Master());
            master = idle_.back();
            idle_.pop_back();
        }
        struct Return {
            Masters *owner; Master *master;
            ~Return() {
                { std::lock_guard<std::mutex> lock(owner->mutex_); owner->idle_.push_back(master); --owner->busy_; }
                owner->released_.notify_all();
            }
        } giveBack{this, master};
        master->perform(threads, work);
    }

private:
    std::mutex mutex_;
    std::condition_variable released_;
    std::vector<Master *> idle_;
    size_t busy_ = 0;
};

}  // namespace

void perform(int threads, const std::function<void()> &work) {
    if (threads <= 1 || onMaster) {
        // In place: one thread forms no team; a master asking from its own task (timing
        // candidates for another thread count) already is the thread to run it, and waiting for
        // another master could wait for itself. Its thread count is put back afterwards.
        int previous = omp_get_max_threads();
        omp_set_num_threads(threads);
        struct Restore { int n; bool restore; ~Restore() { if (restore) omp_set_num_threads(n); } } restore{previous, onMaster};
        work();
        return;
    }
    static Masters *masters = new Masters();
    masters->perform(threads, work);
}

}  // namespace wecare_onednn
