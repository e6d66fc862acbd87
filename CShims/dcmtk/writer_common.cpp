// The source instance as the writers see it, and helpers they share.
#include "writer_internal.h"

#include "dcmtk/dcmdata/dcostrmb.h"
#include "dcmtk/dcmdata/dcwcache.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace wcw {

int fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return 1;
}

static const DcmTagKey kPatientStudy[] = {
    DCM_PatientName, DCM_PatientID, DCM_IssuerOfPatientID, DCM_PatientBirthDate, DCM_PatientSex,
    DCM_PatientAge, DCM_PatientSize, DCM_PatientWeight, DCM_OtherPatientIDsSequence,
    DCM_PatientIdentityRemoved, DCM_DeidentificationMethod,
    DCM_StudyInstanceUID, DCM_StudyDate, DCM_StudyTime, DCM_ReferringPhysicianName, DCM_StudyID,
    DCM_AccessionNumber, DCM_IssuerOfAccessionNumberSequence, DCM_StudyDescription,
};
// Type 2 in Patient / General Study: present even when empty.
static const DcmTagKey kType2[] = {
    DCM_PatientName, DCM_PatientID, DCM_PatientBirthDate, DCM_PatientSex, DCM_StudyDate,
    DCM_StudyTime, DCM_ReferringPhysicianName, DCM_StudyID, DCM_AccessionNumber,
};

void copyPatientStudy(DcmItem &src, DcmItem &dst) {
    OFString cs;
    if (src.findAndGetOFStringArray(DCM_SpecificCharacterSet, cs).good() && !cs.empty())
        dst.putAndInsertOFStringArray(DCM_SpecificCharacterSet, cs);
    for (const DcmTagKey &tag : kPatientStudy) {
        dst.findAndDeleteElement(tag);
        DcmElement *e = NULL;
        if (src.findAndGetElement(tag, e).good() && e) dst.insert(OFstatic_cast(DcmElement *, e->clone()), OFTrue);
    }
    for (const DcmTagKey &tag : kType2)
        if (!dst.tagExists(tag)) dst.insertEmptyElement(tag);
}

std::string joinedInts(const int32_t *values, size_t count) {
    std::string out;
    for (size_t i = 0; i < count; i++) {
        if (i) out += '\\';
        out += std::to_string(values[i]);
    }
    return out;
}

OFCondition putIfGiven(DcmItem &dst, const DcmTagKey &tag, const char *value) {
    if (!has(value)) return EC_Normal;
    return dst.putAndInsertOFStringArray(tag, value);
}

OFCondition putIds(DcmItem &dst, const wc_derived_ids &ids) {
    OFCondition c = dst.putAndInsertString(DCM_SeriesInstanceUID, s(ids.series_instance_uid).c_str());
    if (c.good()) c = dst.putAndInsertString(DCM_SOPInstanceUID, s(ids.sop_instance_uid).c_str());
    if (c.good()) c = putIfGiven(dst, DCM_SeriesDescription, ids.series_description);
    if (c.good()) c = dst.putAndInsertString(DCM_SeriesNumber, s(ids.series_number).c_str());
    if (c.good()) c = dst.putAndInsertString(DCM_InstanceNumber, s(ids.instance_number).c_str());
    if (c.good()) c = dst.putAndInsertString(DCM_ContentDate, s(ids.content_date).c_str());
    if (c.good()) c = dst.putAndInsertString(DCM_ContentTime, s(ids.content_time).c_str());
    if (c.good()) c = dst.putAndInsertString(DCM_InstanceCreationDate, s(ids.content_date).c_str());
    if (c.good()) c = dst.putAndInsertString(DCM_InstanceCreationTime, s(ids.content_time).c_str());
    if (c.good()) c = dst.putAndInsertString(DCM_Manufacturer, s(ids.manufacturer).c_str());
    if (c.good()) c = putIfGiven(dst, DCM_ManufacturerModelName, ids.model_name);
    if (c.good()) c = putIfGiven(dst, DCM_DeviceSerialNumber, ids.device_serial_number);
    if (c.good()) c = putIfGiven(dst, DCM_SoftwareVersions, ids.software_versions);
    return c;
}

OFCondition putCodeItem(DcmItem &parent, const DcmTagKey &seq, const wc_code &code, long itemNum) {
    DcmItem *item = NULL;
    OFCondition c = parent.findOrCreateSequenceItem(seq, item, itemNum);
    if (c.bad()) return c;
    c = item->putAndInsertString(DCM_CodeValue, s(code.value).c_str());
    if (c.good()) c = item->putAndInsertString(DCM_CodingSchemeDesignator, s(code.scheme).c_str());
    if (c.good()) c = item->putAndInsertString(DCM_CodeMeaning, s(code.meaning).c_str());
    return c;
}

DcmDataset *lockSource(wc_image *source, std::unique_lock<std::mutex> &lock, char *err, size_t errlen) {
    if (!source) { fail(err, errlen, "no source instance given"); return NULL; }
    lock = std::unique_lock<std::mutex>(source->lock);
    return source->file.getDataset();
}

DcmDataset *lockSourceWithUIDs(wc_image *source, std::unique_lock<std::mutex> &lock, SourceUIDs &uids,
                               const char *what, char *err, size_t errlen) {
    DcmDataset *src = lockSource(source, lock, err, errlen);
    if (!src) return NULL;
    src->findAndGetOFString(DCM_SOPClassUID, uids.sopClass);
    src->findAndGetOFString(DCM_SOPInstanceUID, uids.sopInstance);
    src->findAndGetOFString(DCM_SeriesInstanceUID, uids.series);
    if (uids.sopClass.empty() || uids.sopInstance.empty() || uids.series.empty()) {
        fail(err, errlen, "%s: source instance lacks SOP Class/Instance or Series UID", what);
        return NULL;
    }
    return src;
}

OFCondition encodeFile(DcmFileFormat &ff, wc_bytes *out) {
    // DCMTK fills a fixed buffer and returns EC_StreamNotifyClient each time it is full; the
    // chunks are appended to one growing malloc'd block. 16 kB: an ordinary SEG (about 35 kB)
    // already takes several chunks, so every writer test crosses chunk boundaries.
    // Sequences and items have undefined length and the dataset no group lengths: explicit
    // lengths make DCMTK re-sum every nested item at each level of the SR's content tree.
    out->data = NULL;
    out->length = 0;
    size_t capacity = 0;
    Uint8 chunk[16384];
    DcmOutputBufferStream stream(chunk, sizeof chunk);
    DcmWriteCache cache;
    ff.transferInit();
    OFCondition c;
    do {
        c = ff.write(stream, EXS_LittleEndianExplicit, EET_UndefinedLength, &cache, EGL_withoutGL, EPD_noChange,
                     0, 0, 0, EWM_fileformat);
        if (c.bad() && c != EC_StreamNotifyClient) break;
        void *bytes = NULL;
        offile_off_t n = 0;
        stream.flushBuffer(bytes, n);
        if (n <= 0) continue;
        if (out->length + OFstatic_cast(size_t, n) > capacity) {
            size_t grown = capacity ? capacity * 2 : 65536;
            while (grown < out->length + OFstatic_cast(size_t, n)) grown *= 2;
            Uint8 *p = OFstatic_cast(Uint8 *, realloc(out->data, grown));
            if (!p) { c = EC_MemoryExhausted; break; }
            out->data = p;
            capacity = grown;
        }
        memcpy(out->data + out->length, bytes, OFstatic_cast(size_t, n));
        out->length += OFstatic_cast(size_t, n);
    } while (c == EC_StreamNotifyClient);
    ff.transferEnd();
    if (c.bad()) wc_bytes_free(out);
    return c;
}

}  // namespace wcw

using namespace wcw;

extern "C" void wc_bytes_free(wc_bytes *bytes) {
    if (!bytes) return;
    free(bytes->data);
    bytes->data = NULL;
    bytes->length = 0;
}

static void copyStr(DcmItem &ds, const DcmTagKey &tag, char *dst, size_t n) {
    OFString v;
    dst[0] = 0;
    if (ds.findAndGetOFStringArray(tag, v).good()) {
        strncpy(dst, v.c_str(), n - 1);
        dst[n - 1] = 0;
    }
}

extern "C" int wc_writer_source_info(wc_image *source, wc_source_info *info, char *err, size_t errlen) {
    if (!info) return fail(err, errlen, "no wc_source_info to fill");
    memset(info, 0, sizeof(*info));
    std::unique_lock<std::mutex> lock;
    DcmDataset *ds = lockSource(source, lock, err, errlen);
    if (!ds) return 1;
    DcmFileFormat &ff = source->file;
    copyStr(*ds, DCM_SOPClassUID, info->sop_class_uid, sizeof info->sop_class_uid);
    copyStr(*ds, DCM_SOPInstanceUID, info->sop_instance_uid, sizeof info->sop_instance_uid);
    copyStr(*ds, DCM_StudyInstanceUID, info->study_instance_uid, sizeof info->study_instance_uid);
    copyStr(*ds, DCM_SeriesInstanceUID, info->series_instance_uid, sizeof info->series_instance_uid);
    copyStr(*ff.getMetaInfo(), DCM_TransferSyntaxUID, info->transfer_syntax_uid, sizeof info->transfer_syntax_uid);
    copyStr(*ds, DCM_PhotometricInterpretation, info->photometric, sizeof info->photometric);
    copyStr(*ds, DCM_Laterality, info->laterality, sizeof info->laterality);
    copyStr(*ds, DCM_ImageLaterality, info->image_laterality, sizeof info->image_laterality);
    copyStr(*ds, DCM_LossyImageCompression, info->lossy_flag, sizeof info->lossy_flag);
    copyStr(*ds, DCM_LossyImageCompressionRatio, info->lossy_ratio, sizeof info->lossy_ratio);
    copyStr(*ds, DCM_LossyImageCompressionMethod, info->lossy_method, sizeof info->lossy_method);
    copyStr(*ds, DCM_FrameOfReferenceUID, info->frame_of_reference_uid, sizeof info->frame_of_reference_uid);
    Uint16 u16 = 0;
    if (ds->findAndGetUint16(DCM_Rows, u16).good()) info->rows = u16;
    if (ds->findAndGetUint16(DCM_Columns, u16).good()) info->columns = u16;
    if (ds->findAndGetUint16(DCM_SamplesPerPixel, u16).good()) info->samples_per_pixel = u16;
    if (ds->findAndGetUint16(DCM_BitsAllocated, u16).good()) info->bits_allocated = u16;
    Sint32 frames = 1;
    if (ds->findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1) frames = 1;
    info->frames = OFstatic_cast(uint32_t, frames);
    DcmElement *e = NULL;
    if (ds->findAndGetElement(DCM_PixelData, e).good() && e) {
        DcmPixelData *pd = OFstatic_cast(DcmPixelData *, e);
        E_TransferSyntax xfer = ds->getOriginalXfer();
        DcmXfer x(xfer);
        DcmPixelSequence *seq = NULL;
        if (x.isEncapsulated() && pd->getEncapsulatedRepresentation(xfer, NULL, seq).good() && seq) {
            // Item 0 is the basic offset table, not compressed data.
            for (unsigned long i = 1; i < seq->card(); i++) {
                DcmPixelItem *item = NULL;
                if (seq->getItem(item, i).good() && item) info->encapsulated_bytes += item->getLength();
            }
        }
    }
    return 0;
}
