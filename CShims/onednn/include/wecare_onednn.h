// oneDNN behind a plain C header: a region of the compiled graph (convolutions, adds,
// channel concats, nearest up-samplings) built as oneDNN primitives in the layouts oneDNN
// picks, run on caller-owned memory. Which steps go in a region, and whether oneDNN runs at
// all, is decided in Swift (Inference/OneDNN/).
#ifndef WECARE_ONEDNN_H
#define WECARE_ONEDNN_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wecare_onednn_region wecare_onednn_region;

enum wecare_onednn_activation {
    WECARE_ONEDNN_NONE = 0, WECARE_ONEDNN_RELU = 1, WECARE_ONEDNN_CLIP = 2,
    WECARE_ONEDNN_LEAKY_RELU = 3, WECARE_ONEDNN_SIGMOID = 4, WECARE_ONEDNN_TANH = 5,
};

/// Caps oneDNN's instruction set (1: AVX-512 core, 0: AVX2); must come before any region is
/// built. Returns 0, or -1 when oneDNN refuses (primitives were already created).
int wecare_onednn_set_max_isa(int avx512);

/// A region for `threads` threads: oneDNN splits each primitive's work when it is built, so a
/// region runs with the thread count it was built for. Timed kernel choices weigh one thread
/// and `tune_threads` (the session's count; builds for other counts keep those choices).
wecare_onednn_region *wecare_onednn_region_create(int threads, int tune_threads);
void wecare_onednn_region_free(wecare_onednn_region *r);
/// The last error of a builder call that returned -1 (valid until the next call).
const char *wecare_onednn_region_error(const wecare_onednn_region *r);

/// Values are small integers. An input is NCHW (batch 1..n), bound to a pointer at run.
int wecare_onednn_input(wecare_onednn_region *r, int n, int c, int h, int w);
/// A convolution: weights OIHW ([m, c/groups, kh, kw]), bias of m floats or NULL; the
/// activation (with `alpha`, `beta`: clip bounds or leaky slope) runs in its epilogue.
/// `winograd` lets a 3x3 stride-1 conv run Winograd F(2x2,3x3) or F(4x4,3x3) where oneDNN has
/// it and it times faster than direct on this CPU (each candidate timed once per process,
/// shape and tune_threads); `implementation` (NULL: that timed choice) names the kernel instead.
int wecare_onednn_conv(wecare_onednn_region *r, int src, const float *weights, const float *bias,
                       int m, int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr, int groups,
                       int activation, float alpha, float beta, int winograd, const char *implementation);
int wecare_onednn_add(wecare_onednn_region *r, int a, int b);
int wecare_onednn_concat_channels(wecare_onednn_region *r, const int *values, int count);
int wecare_onednn_upsample_nearest(wecare_onednn_region *r, int src, int factor_h, int factor_w);
/// Marks `value` as the region's next output (NCHW, bound to a pointer at run); returns its index.
int wecare_onednn_output(wecare_onednn_region *r, int value);
/// Plans the region's memory; returns 0 or -1. Nothing can be added afterwards.
int wecare_onednn_finish(wecare_onednn_region *r);
/// Bytes of scratch one run needs (activations inside the region and oneDNN's scratchpads).
size_t wecare_onednn_scratch_bytes(const wecare_onednn_region *r);
/// The kernels oneDNN chose, one name per primitive, comma-separated (for logs and profiles).
const char *wecare_onednn_implementations(const wecare_onednn_region *r);

/// Runs the region on its threads. Concurrent runs are safe when each has its own scratch
/// (64-byte aligned). Returns 0, or -1 (message in `error`, `error_len` bytes).
int wecare_onednn_run(const wecare_onednn_region *r, const float *const *inputs, float *const *outputs,
                      void *scratch, char *error, size_t error_len);

#ifdef __cplusplus
}
#endif
#endif
