// Opening a DICOM file and reading its attributes for DICOMInstance.
#include "wecare_image.h"
#include "image_internal.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcdicent.h"
#include "dcmtk/dcmdata/dcitem.h"
#include "dcmtk/dcmdata/dcmetinf.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include <cerrno>
#include "dcmtk/dcmdata/dcvrds.h"
#include "dcmtk/dcmdata/dcvris.h"
#include <algorithm>
#include <new>
#include <string>

namespace {
// True when the file carries the "DICM" marker after the 128-byte preamble (a Part 10 file).
bool hasPart10Marker(const char *path) {
    FILE *f = std::fopen(path, "rb");
    if (f == nullptr) return false;
    char buf[132];
    const size_t n = std::fread(buf, 1, sizeof buf, f);
    std::fclose(f);
    return n == sizeof buf && std::memcmp(buf + 128, "DICM", 4) == 0;
}

DcmTagKey key(uint32_t tag) { return DcmTagKey(uint16_t(tag >> 16), uint16_t(tag & 0xffff)); }

// The item an attribute is read from: meta header, top-level dataset or a sequence item.
DcmItem *scope(wc_image *image, uint32_t seq_tag, uint32_t item, uint32_t tag) {
    if (seq_tag == 0) {
        if ((tag >> 16) == 0x0002) return image->file.getMetaInfo();
        return image->file.getDataset();
    }
    DcmItem *found = nullptr;
    if (image->file.getDataset()->findAndGetSequenceItem(key(seq_tag), found, long(item)).bad()) return nullptr;
    return found;
}

DcmElement *element(wc_image *image, uint32_t seq_tag, uint32_t item, uint32_t tag) {
    DcmItem *it = scope(image, seq_tag, item, tag);
    if (it == nullptr) return nullptr;
    DcmElement *el = nullptr;
    if (it->findAndGetElement(key(tag), el, OFFalse).bad()) return nullptr;
    return el;
}
}  // namespace

extern "C" wc_image *wc_image_open(const char *path, wc_image_status *status, char *message, size_t message_len) {
    wc_codecs_register();
    *status = WC_IMAGE_OK;
    FILE *probe = std::fopen(path, "rb");
    if (probe == nullptr) {
        *status = WC_IMAGE_IO;
        wc_image_copy_message(message, message_len, std::strerror(errno));
        return nullptr;
    }
    std::fclose(probe);
    wc_image *image = new (std::nothrow) wc_image;
    if (image == nullptr) {
        *status = WC_IMAGE_IO;
        wc_image_copy_message(message, message_len, "out of memory");
        return nullptr;
    }
    // Values longer than DCM_MaxReadLength (pixel data) stay in the file until a frame needs them.
    const OFCondition cond = image->file.loadFile(path, EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_autoDetect);
    if (cond.bad()) {
        const bool part10 = hasPart10Marker(path);
        // A Part 10 file whose dataset does not parse to its end was cut short (DCMTK says
        // "premature end of stream" or "invalid stream" depending on where); without the
        // marker, a parse that fails is what random bytes and text do.
        *status = part10 ? WC_IMAGE_TRUNCATED : WC_IMAGE_NOT_DICOM;
        wc_image_copy_message(message, message_len, cond.text());
        delete image;
        return nullptr;
    }
    return image;
}

extern "C" void wc_image_close(wc_image *image) { delete image; }

extern "C" long wc_image_string(wc_image *image, uint32_t seq_tag, uint32_t item, uint32_t tag, char *buf, size_t buf_len) {
    std::lock_guard<std::mutex> guard(image->lock);
    DcmElement *el = element(image, seq_tag, item, tag);
    if (el == nullptr) return -1;
    OFString value;
    if (el->getLength() > 0 && el->getOFStringArray(value).bad()) return -1;
    if (buf != nullptr && buf_len > 0) wc_image_copy_message(buf, buf_len, value.c_str());
    return long(value.length());
}

extern "C" int wc_image_number(wc_image *image, uint32_t seq_tag, uint32_t item, uint32_t tag, uint32_t index, double *out) {
    std::lock_guard<std::mutex> guard(image->lock);
    DcmElement *el = element(image, seq_tag, item, tag);
    if (el == nullptr || el->getLength() == 0) return -1;
    OFCondition c = EC_IllegalCall;
    switch (el->ident()) {
    case EVR_US: { Uint16 v; c = el->getUint16(v, index); *out = v; break; }
    case EVR_SS: { Sint16 v; c = el->getSint16(v, index); *out = v; break; }
    case EVR_UL: { Uint32 v; c = el->getUint32(v, index); *out = v; break; }
    case EVR_SL: { Sint32 v; c = el->getSint32(v, index); *out = v; break; }
    case EVR_FL: { Float32 v; c = el->getFloat32(v, index); *out = v; break; }
    case EVR_FD: { Float64 v; c = el->getFloat64(v, index); *out = v; break; }
    case EVR_DS: { Float64 v; c = static_cast<DcmDecimalString *>(el)->getFloat64(v, index); *out = v; break; }
    case EVR_IS: { Sint32 v; c = static_cast<DcmIntegerString *>(el)->getSint32(v, index); *out = v; break; }
    default: break;
    }
    return c.good() ? 0 : -1;
}

extern "C" long wc_image_item_count(wc_image *image, uint32_t seq_tag) {
    std::lock_guard<std::mutex> guard(image->lock);
    DcmSequenceOfItems *seq = nullptr;
    if (image->file.getDataset()->findAndGetSequence(key(seq_tag), seq).bad() || seq == nullptr) return -1;
    return long(seq->card());
}

extern "C" int wc_image_has_pixel_data(wc_image *image) {
    std::lock_guard<std::mutex> guard(image->lock);
    DcmElement *el = nullptr;
    if (image->file.getDataset()->findAndGetElement(DCM_PixelData, el, OFFalse).bad() || el == nullptr) return 0;
    return el->getLengthField() != 0 ? 1 : 0;
}

extern "C" const char *wc_image_original_transfer_syntax(wc_image *image) {
    std::lock_guard<std::mutex> guard(image->lock);
    return DcmXfer(image->file.getDataset()->getOriginalXfer()).getXferID();
}

extern "C" long wc_image_words(wc_image *image, uint32_t tag, uint16_t *out, size_t count) {
    std::lock_guard<std::mutex> guard(image->lock);
    DcmElement *el = nullptr;
    if (image->file.getDataset()->findAndGetElement(key(tag), el, OFFalse).bad() || el == nullptr) return -1;
    const DcmEVR vr = el->ident();
    if (vr != EVR_OW && vr != EVR_US && vr != EVR_xs && vr != EVR_lt && vr != EVR_ox) return -1;
    Uint16 *words = nullptr;
    if (el->getLength() == 0) return 0;
    if (el->getUint16Array(words).bad() || words == nullptr) return -1;
    const size_t n = el->getLength() / 2;
    if (out != nullptr) std::memcpy(out, words, std::min(n, count) * sizeof(Uint16));
    return long(n);
}
