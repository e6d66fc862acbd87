// Binary Segmentation (SEG) of one segment over a 2D ultrasound source, no Frame of Reference:
// each frame references its source image (and frame) through the Derivation Image FG.
// Written with plain dcmdata, like the presentation state: dcmseg 3.6.7 needed patches after
// writing (a Frame of Reference it insists on, its 1-bit packing; see shared/docs/dicom-notes.md)
// and its per-frame functional-group machinery cost more CPU than the rest of the object.
#include "writer_internal.h"
#include <cstring>
#include <string>

using namespace wcw;

static const char *const kSegmentationStorage = "1.2.840.10008.5.1.4.1.1.66.4";

// Eight mask bytes (any nonzero = in) as one byte, the first pixel in bit 0: each byte's
// "nonzero" flag is put in its bit 0, and the multiplication gathers bit 8k into bit 56 + k
// (the shifted copies land on distinct bits, so nothing carries).
static inline Uint8 packEight(const uint8_t *m) {
    uint64_t x;
    memcpy(&x, m, 8);  // little-endian: m[0] is the low byte
    const uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
    const uint64_t nonzero = ((x | ((x & low7) + low7)) >> 7) & 0x0101010101010101ULL;
    return OFstatic_cast(Uint8, (nonzero * 0x0102040810204080ULL) >> 56);
}

// The frames of a binary SEG are one bit stream, least significant bit first, with no padding
// between frames (PS3.5 8.1.1), padded to an even length at the end.
static OFCondition putBinaryFrames(DcmItem &ds, const uint8_t *masks, size_t pixels) {
    size_t bytes = (pixels + 7) / 8;
    OFVector<Uint8> packed(bytes + (bytes & 1), 0);
    size_t i = 0;
    for (; i + 8 <= pixels; i += 8) packed[i / 8] = packEight(masks + i);
    for (; i < pixels; i++)
        if (masks[i]) packed[i / 8] |= OFstatic_cast(Uint8, 1u << (i % 8));
    DcmPolymorphOBOW *pixelData = new DcmPolymorphOBOW(DcmTag(DCM_PixelData, EVR_OB));
    OFCondition c = pixelData->putUint8Array(&packed[0], OFstatic_cast(unsigned long, packed.size()));
    if (c.good()) c = ds.insert(pixelData, OFTrue);
    else delete pixelData;
    return c;
}

// Image Pixel and Multi-frame modules of a 1-bit binary segmentation.
static OFCondition putImagePixel(DcmItem &ds, const wc_seg_request &req) {
    OFCondition c = ds.putAndInsertUint16(DCM_SamplesPerPixel, 1);
    if (c.good()) c = ds.putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
    if (c.good()) c = ds.putAndInsertString(DCM_NumberOfFrames, std::to_string(req.frame_count).c_str());
    if (c.good()) c = ds.putAndInsertUint16(DCM_Rows, req.rows);
    if (c.good()) c = ds.putAndInsertUint16(DCM_Columns, req.columns);
    if (c.good()) c = ds.putAndInsertUint16(DCM_BitsAllocated, 1);
    if (c.good()) c = ds.putAndInsertUint16(DCM_BitsStored, 1);
    if (c.good()) c = ds.putAndInsertUint16(DCM_HighBit, 0);
    if (c.good()) c = ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
    return c;
}

// The one segment: what it is (category, type, anatomy with laterality as modifier) and the
// algorithm that found it.
static OFCondition putSegment(DcmItem &ds, const wc_seg_request &req) {
    DcmItem *seg = NULL;
    OFCondition c = ds.findOrCreateSequenceItem(DCM_SegmentSequence, seg, 0);
    if (c.good()) c = seg->putAndInsertUint16(DCM_SegmentNumber, 1);
    if (c.good()) c = seg->putAndInsertString(DCM_SegmentLabel, s(req.segment_label).c_str());
    if (c.good()) c = putCodeItem(*seg, DCM_SegmentedPropertyCategoryCodeSequence, req.category, 0);
    if (c.good()) c = putCodeItem(*seg, DCM_SegmentedPropertyTypeCodeSequence, req.type, 0);
    if (c.good()) c = seg->putAndInsertString(DCM_SegmentAlgorithmType, req.algorithm_type ? req.algorithm_type : "AUTOMATIC");
    if (c.good()) c = seg->putAndInsertString(DCM_SegmentAlgorithmName, s(req.algorithm_name).c_str());
    DcmItem *algo = NULL;
    if (c.good()) c = seg->findOrCreateSequenceItem(DCM_SegmentationAlgorithmIdentificationSequence, algo, 0);
    if (c.good()) c = putCodeItem(*algo, DCM_AlgorithmFamilyCodeSequence, req.algorithm_family, 0);
    if (c.good()) c = algo->putAndInsertString(DCM_AlgorithmName, s(req.algorithm_name).c_str());
    if (c.good()) c = algo->putAndInsertString(DCM_AlgorithmVersion, s(req.algorithm_version).c_str());
    if (c.good() && has(req.anatomy.value)) {
        c = putCodeItem(*seg, DCM_AnatomicRegionSequence, req.anatomy, 0);
        DcmItem *region = NULL;
        if (c.good() && has(req.anatomy_modifier.value) && seg->findAndGetSequenceItem(DCM_AnatomicRegionSequence, region, 0).good())
            c = putCodeItem(*region, DCM_AnatomicRegionModifierSequence, req.anatomy_modifier, 0);
    }
    return c;
}

// Multi-frame Dimension: frames are indexed by the segment they belong to.
static OFCondition putDimensions(DcmItem &ds, const wc_seg_request &req) {
    DcmItem *org = NULL, *index = NULL;
    OFCondition c = ds.findOrCreateSequenceItem(DCM_DimensionOrganizationSequence, org, 0);
    if (c.good()) c = org->putAndInsertString(DCM_DimensionOrganizationUID, s(req.dimension_organization_uid).c_str());
    if (c.good()) c = ds.findOrCreateSequenceItem(DCM_DimensionIndexSequence, index, 0);
    if (c.good()) c = index->putAndInsertString(DCM_DimensionOrganizationUID, s(req.dimension_organization_uid).c_str());
    if (c.good()) c = index->putAndInsertTagKey(DCM_DimensionIndexPointer, DCM_ReferencedSegmentNumber);
    if (c.good()) c = index->putAndInsertTagKey(DCM_FunctionalGroupPointer, DCM_SegmentIdentificationSequence);
    if (c.good()) c = index->putAndInsertString(DCM_DimensionDescriptionLabel, "ReferencedSegmentNumber");
    return c;
}

// Per-frame functional groups of frame f: the source image (and frame) it was derived from,
// its dimension index and its segment.
static OFCondition putFrameGroups(DcmItem &frame, const wc_seg_request &req, uint32_t f, const SourceUIDs &uids) {
    static const wc_code sourceImage = {"121322", "DCM", "Source Image for Image Processing Operation"};
    static const wc_code segmentation = {"113076", "DCM", "Segmentation"};
    DcmItem *deriv = NULL, *source = NULL, *content = NULL, *segment = NULL;
    OFCondition c = frame.findOrCreateSequenceItem(DCM_DerivationImageSequence, deriv, 0);
    if (c.good()) c = deriv->putAndInsertString(DCM_DerivationDescription, s(req.derivation_description).c_str());
    if (c.good()) c = putCodeItem(*deriv, DCM_DerivationCodeSequence, segmentation, 0);
    if (c.good()) c = deriv->findOrCreateSequenceItem(DCM_SourceImageSequence, source, 0);
    if (c.good()) c = source->putAndInsertString(DCM_ReferencedSOPClassUID, uids.sopClass.c_str());
    if (c.good()) c = source->putAndInsertString(DCM_ReferencedSOPInstanceUID, uids.sopInstance.c_str());
    if (c.good() && req.source_frame_numbers)
        c = source->putAndInsertString(DCM_ReferencedFrameNumber, std::to_string(req.source_frame_numbers[f]).c_str());
    // Spatial Locations Preserved: highdicom cannot map the pixels without it.
    if (c.good()) c = source->putAndInsertString(DCM_SpatialLocationsPreserved, "YES");
    if (c.good()) c = putCodeItem(*source, DCM_PurposeOfReferenceCodeSequence, sourceImage, 0);
    if (c.good()) c = frame.findOrCreateSequenceItem(DCM_FrameContentSequence, content, 0);
    if (c.good()) c = content->putAndInsertUint32(DCM_DimensionIndexValues, 1);
    if (c.good()) c = frame.findOrCreateSequenceItem(DCM_SegmentIdentificationSequence, segment, 0);
    if (c.good()) c = segment->putAndInsertUint16(DCM_ReferencedSegmentNumber, 1);
    return c;
}

extern "C" int wc_write_seg(const wc_seg_request *req, wc_bytes *out_bytes, char *err, size_t errlen) {
    if (!req || !out_bytes) return fail(err, errlen, "SEG: no request or no output buffer");
    if (req->frame_count == 0 || !req->masks)
        return fail(err, errlen, "SEG: no frames given; write no SEG for an image without lesion");
    if (req->rows == 0 || req->columns == 0) return fail(err, errlen, "SEG: frames of %ux%u pixels", req->columns, req->rows);
    // Enhanced General Equipment: all four are type 1 in a SEG.
    if (!has(req->ids.manufacturer) || !has(req->ids.model_name) || !has(req->ids.device_serial_number) ||
        !has(req->ids.software_versions))
        return fail(err, errlen, "SEG: cannot create segmentation: equipment values must be non-empty");
    std::unique_lock<std::mutex> sourceLock;
    SourceUIDs uids;
    DcmDataset *src = lockSourceWithUIDs(req->source, sourceLock, uids, "SEG", err, errlen);
    if (!src) return 1;

    DcmFileFormat out;
    DcmDataset *ds = out.getDataset();
    copyPatientStudy(*src, *ds);
    OFCondition c = ds->putAndInsertString(DCM_SOPClassUID, kSegmentationStorage);
    if (c.good()) c = putIds(*ds, req->ids);
    if (c.good()) c = ds->putAndInsertString(DCM_Modality, "SEG");
    if (c.good()) c = ds->putAndInsertString(DCM_ImageType, "DERIVED\\PRIMARY");
    // Content Identification.
    if (c.good()) c = ds->putAndInsertString(DCM_ContentLabel, s(req->content_label).c_str());
    if (c.good()) c = ds->putAndInsertString(DCM_ContentDescription, s(req->content_description).c_str());
    if (c.good()) c = ds->putAndInsertString(DCM_ContentCreatorName, s(req->content_creator).c_str());
    // General Image's Patient Orientation (2C): as given, else the source's, else empty.
    if (c.good()) {
        OFString po;
        if (req->patient_orientation) po = req->patient_orientation;
        else src->findAndGetOFStringArray(DCM_PatientOrientation, po);
        c = ds->putAndInsertOFStringArray(DCM_PatientOrientation, po);
    }
    if (c.good()) c = ds->putAndInsertString(DCM_SegmentationType, "BINARY");
    if (c.good()) c = ds->putAndInsertString(DCM_SegmentsOverlap, "NO");
    if (c.good()) c = putImagePixel(*ds, *req);
    if (c.good()) c = ds->putAndInsertString(DCM_LossyImageCompression, req->lossy_flag ? "01" : "00");
    if (c.good() && req->lossy_flag) {
        c = putIfGiven(*ds, DCM_LossyImageCompressionRatio, req->lossy_ratio);
        if (c.good()) c = putIfGiven(*ds, DCM_LossyImageCompressionMethod, req->lossy_method);
    }
    if (c.good()) c = putSegment(*ds, *req);
    if (c.good()) c = putDimensions(*ds, *req);
    // Shared groups: none, or the Plane Orientation some viewers (OHIF) need to place 2D frames.
    DcmItem *shared = NULL, *plane = NULL;
    if (c.good()) c = ds->findOrCreateSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0);
    if (c.good() && req->shared_plane_orientation) {
        c = shared->findOrCreateSequenceItem(DCM_PlaneOrientationSequence, plane, 0);
        if (c.good()) c = plane->putAndInsertString(DCM_ImageOrientationPatient, "1\\0\\0\\0\\1\\0");
    }
    for (uint32_t f = 0; c.good() && f < req->frame_count; f++) {
        DcmItem *frame = NULL;
        c = ds->findOrCreateSequenceItem(DCM_PerFrameFunctionalGroupsSequence, frame, -2);
        if (c.good()) c = putFrameGroups(*frame, *req, f, uids);
    }
    // Common Instance Reference: the source series (same study).
    DcmItem *series = NULL, *inst = NULL;
    if (c.good()) c = ds->findOrCreateSequenceItem(DCM_ReferencedSeriesSequence, series, 0);
    if (c.good()) c = series->putAndInsertString(DCM_SeriesInstanceUID, uids.series.c_str());
    if (c.good()) c = series->findOrCreateSequenceItem(DCM_ReferencedInstanceSequence, inst, 0);
    if (c.good()) c = inst->putAndInsertString(DCM_ReferencedSOPClassUID, uids.sopClass.c_str());
    if (c.good()) c = inst->putAndInsertString(DCM_ReferencedSOPInstanceUID, uids.sopInstance.c_str());
    if (c.bad()) return fail(err, errlen, "SEG: cannot build dataset: %s", c.text());
    c = putBinaryFrames(*ds, req->masks, OFstatic_cast(size_t, req->rows) * req->columns * req->frame_count);
    if (c.bad()) return fail(err, errlen, "SEG: cannot store the packed frames: %s", c.text());

    c = encodeFile(out, out_bytes);
    if (c.bad()) return fail(err, errlen, "SEG: cannot encode the object: %s", c.text());
    return 0;
}
