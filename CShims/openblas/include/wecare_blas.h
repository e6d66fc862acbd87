// OpenBLAS, loaded at run time with the kernels Swift chose (Inference/KernelSet.swift).
//
// OpenBLAS picks its kernels once, when the library is loaded, from the CPU's family and model
// number. Under a hypervisor that reports a generic model ("Intel(R) Xeon(R) Processor") it falls
// back to its oldest x86-64 kernels (Prescott, SSE3) although the CPU has AVX2 or AVX-512. Loading
// it here, after OPENBLAS_CORETYPE is set from the CPU's feature flags, gets the right ones.
#ifndef WECARE_BLAS_H
#define WECARE_BLAS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Loads libopenblas.so.0 once, with OPENBLAS_CORETYPE set to `coretype` first (NULL leaves the
/// environment alone), and makes it single-threaded (the engine partitions work itself).
/// Returns 0, or -1 with the reason in `error`. Later calls return 0 without loading again.
int wecare_blas_open(const char *coretype, char *error, size_t error_size);

/// The kernel set OpenBLAS runs ("SkylakeX", "Haswell", "Prescott", ...); "" before loading.
const char *wecare_blas_core(void);

/// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C (cblas_sgemm).
void wecare_sgemm(int transpose_a, int transpose_b, int m, int n, int k, float alpha,
                  const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

#ifdef __cplusplus
}
#endif

#endif
