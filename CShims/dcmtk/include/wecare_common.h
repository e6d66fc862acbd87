#ifndef WECARE_COMMON_H
#define WECARE_COMMON_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* The DCMTK version this shim was built against, e.g. "3.6.7". */
const char *wc_dcmtk_version(void);

#ifdef __cplusplus
}
#endif
#endif
