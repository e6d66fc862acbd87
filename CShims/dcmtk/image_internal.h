// Private to the image_*.cpp files: what a wc_image handle holds.
#ifndef WECARE_IMAGE_INTERNAL_H
#define WECARE_IMAGE_INTERNAL_H
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include <cstdio>
#include <cstring>
#include <mutex>

struct wc_image {
    DcmFileFormat file;
    // DCMTK objects are not thread-safe and DicomImage reads (and caches) through the dataset:
    // every call on one handle holds this lock.
    std::mutex lock;
    // Whether the Basic Offset Table was checked (and filled in if needed) for frame access.
    bool offsetTableChecked = false;
};

// Copies text into a caller's buffer, NUL-terminated and truncated to fit.
static inline void wc_image_copy_message(char *dst, size_t len, const char *text) {
    if (dst == nullptr || len == 0) return;
    std::snprintf(dst, len, "%s", text);
}
#endif
