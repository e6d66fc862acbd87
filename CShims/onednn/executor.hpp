// The one thread that runs oneDNN's multi-threaded work (see executor.cpp).
#pragma once
#include <functional>

namespace wecare_onednn {
/// Runs `work` with `threads` OpenMP threads and waits for it: on the calling thread for one
/// thread (no OpenMP team is formed), else on the process's single OpenMP master thread.
void perform(int threads, const std::function<void()> &work);
}
