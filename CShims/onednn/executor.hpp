// The one thread that runs oneDNN's multi-threaded work (see executor.cpp).
#pragma once
#include <functional>

namespace wecare_onednn {
/// Runs `work` with `threads` OpenMP threads and waits for it: on the calling thread for one
/// thread (no OpenMP team is formed) or when called on a master, else on a master thread.
void perform(int threads, const std::function<void()> &work);
}
