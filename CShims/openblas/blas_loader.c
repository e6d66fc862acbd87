#define _GNU_SOURCE
#include "wecare_blas.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

// CBLAS's enum values (cblas.h): the ABI passes them as int.
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);
static sgemm_fn sgemm;
static char *(*get_core)(void);

int wecare_blas_open(const char *coretype, char *error, size_t error_size) {
    if (sgemm) return 0;
    // Read by OpenBLAS's constructor, which runs inside dlopen.
    if (coretype) setenv("OPENBLAS_CORETYPE", coretype, 1);
    void *lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = dlopen("libopenblas.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(error, error_size, "cannot load OpenBLAS (Debian: libopenblas0): %s", dlerror());
        return -1;
    }
    void (*set_threads)(int) = (void (*)(int))dlsym(lib, "openblas_set_num_threads");
    sgemm_fn found = (sgemm_fn)dlsym(lib, "cblas_sgemm");
    get_core = (char *(*)(void))dlsym(lib, "openblas_get_corename");
    if (!found || !set_threads) {
        snprintf(error, error_size, "the loaded OpenBLAS lacks cblas_sgemm or openblas_set_num_threads");
        return -1;
    }
    set_threads(1);
    sgemm = found;
    return 0;
}

const char *wecare_blas_core(void) {
    return sgemm && get_core ? get_core() : "";
}

void wecare_sgemm(int transpose_a, int transpose_b, int m, int n, int k, float alpha,
                  const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    sgemm(ROW_MAJOR, transpose_a ? TRANS : NO_TRANS, transpose_b ? TRANS : NO_TRANS, m, n, k, alpha, a, lda, b, ldb,
          beta, c, ldc);
}
