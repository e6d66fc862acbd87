// Helpers shared by the writer_*.cpp files (not part of the C interface).
#ifndef WECARE_WRITER_INTERNAL_H
#define WECARE_WRITER_INTERNAL_H
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctk.h"
#include "include/wecare_writers.h"
#include "image_internal.h"
#include <mutex>
#include <string>

namespace wcw {

// Writes a message into the caller's buffer and returns 1 (the C error code).
int fail(char *err, size_t errlen, const char *fmt, ...);

inline OFString s(const char *v) { return v ? OFString(v) : OFString(); }
inline bool has(const char *v) { return v && *v; }

// Copies the Patient, General Study and character-set attributes of src into dst; type 2
// attributes missing in src are written empty.
void copyPatientStudy(DcmItem &src, DcmItem &dst);

// Series/instance identification and equipment of a derived instance.
OFCondition putIds(DcmItem &dst, const wc_derived_ids &ids);

// Puts a code into a new item of seq (creating the sequence).
OFCondition putCodeItem(DcmItem &parent, const DcmTagKey &seq, const wc_code &code, long itemNum = -2);

OFCondition putIfGiven(DcmItem &dst, const DcmTagKey &tag, const char *value);

// Integers joined by backslashes, as a multi-valued IS (e.g. Referenced Frame Number) is written.
std::string joinedInts(const int32_t *values, size_t count);

// The dataset of an opened source, its handle locked by `lock` (for the writer's whole run);
// NULL with err filled when no source was given.
DcmDataset *lockSource(wc_image *source, std::unique_lock<std::mutex> &lock, char *err, size_t errlen);

// The source UIDs every derived object references.
struct SourceUIDs { OFString sopClass, sopInstance, series; };

// lockSource, then reads the source's SOP Class/Instance and Series UIDs; NULL with err filled
// (prefixed by `what`, e.g. "SEG") when there is no source or any of them is missing.
DcmDataset *lockSourceWithUIDs(wc_image *source, std::unique_lock<std::mutex> &lock, SourceUIDs &uids,
                               const char *what, char *err, size_t errlen);

// Encodes ff as a Part 10 file (Explicit VR Little Endian) into out (malloc'd).
OFCondition encodeFile(DcmFileFormat &ff, wc_bytes *out);

}  // namespace wcw
#endif
