// Binary Segmentation (SEG) of one segment over a 2D ultrasound source, no Frame of Reference:
// each frame references its source image (and frame) through the Derivation Image FG.
// dcmseg does the IOD; what 3.6.7 gets wrong (its 1-bit packing among it) is patched after
// writing (see shared/docs/dicom-notes.md).
#include "writer_internal.h"
#include "dcmtk/dcmseg/segdoc.h"
#include "dcmtk/dcmseg/segment.h"
#include "dcmtk/dcmfg/fgderimg.h"
#include "dcmtk/dcmfg/fgfracon.h"
#include "dcmtk/dcmiod/iodmacro.h"
#include "dcmtk/dcmiod/iodtypes.h"
#include <memory>
#include <mutex>

using namespace wcw;

// The frames of a binary SEG are one bit stream, least significant bit first, with no padding
// between frames (PS3.5 8.1.1). dcmseg 3.6.7 puts a frame that starts inside a byte one byte
// early when the bits before it leave four (e.g. the third 393x462 frame), so the stream is
// packed again here from the masks as given and replaces what dcmseg wrote.
static OFCondition repackBinaryFrames(DcmDataset &ds, const uint8_t *masks, size_t pixels) {
    DcmElement *pixelData = NULL;
    OFCondition c = ds.findAndGetElement(DCM_PixelData, pixelData);
    if (c.bad() || !pixelData) return c.bad() ? c : EC_TagNotFound;
    size_t bytes = (pixels + 7) / 8;
    OFVector<Uint8> packed(bytes + (bytes & 1), 0);  // even length, as every value is
    size_t i = 0;
    for (; i + 8 <= pixels; i += 8) {
        const uint8_t *m = masks + i;
        packed[i / 8] = OFstatic_cast(Uint8, (m[0] != 0) | (m[1] != 0) << 1 | (m[2] != 0) << 2 | (m[3] != 0) << 3 |
                                             (m[4] != 0) << 4 | (m[5] != 0) << 5 | (m[6] != 0) << 6 | (m[7] != 0) << 7);
    }
    for (; i < pixels; i++)
        if (masks[i]) packed[i / 8] |= OFstatic_cast(Uint8, 1u << (i % 8));
    return pixelData->putUint8Array(&packed[0], OFstatic_cast(unsigned long, packed.size()));
}

// Spatial Locations Preserved (highdicom cannot map pixels without it) in every source item.
static void markSpatialLocationsPreserved(DcmItem &ds) {
    DcmSequenceOfItems *perFrame = NULL;
    if (ds.findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, perFrame).bad() || !perFrame) return;
    for (unsigned long f = 0; f < perFrame->card(); f++) {
        DcmSequenceOfItems *deriv = NULL;
        if (perFrame->getItem(f)->findAndGetSequence(DCM_DerivationImageSequence, deriv).bad() || !deriv) continue;
        for (unsigned long d = 0; d < deriv->card(); d++) {
            DcmSequenceOfItems *srcSeq = NULL;
            if (deriv->getItem(d)->findAndGetSequence(DCM_SourceImageSequence, srcSeq).bad() || !srcSeq) continue;
            for (unsigned long i = 0; i < srcSeq->card(); i++)
                srcSeq->getItem(i)->putAndInsertString(DCM_SpatialLocationsPreserved, "YES");
        }
    }
}

// dcmiod warns "Will not check dimension consistency" on every SEG without plane positions, which
// is what a 2D US SEG is: expected, so only noise on stderr. Errors still get through.
static void quietExpectedIODWarnings() {
    static std::once_flag once;
    std::call_once(once, [] { DCM_dcmiodLogger.setLogLevel(OFLogger::ERROR_LOG_LEVEL); });
}

extern "C" int wc_write_seg(const wc_seg_request *req, wc_bytes *out_bytes, char *err, size_t errlen) {
    if (!req || !out_bytes) return fail(err, errlen, "SEG: no request or no output buffer");
    quietExpectedIODWarnings();
    if (req->frame_count == 0 || !req->masks)
        return fail(err, errlen, "SEG: no frames given; write no SEG for an image without lesion");
    std::unique_lock<std::mutex> sourceLock;
    SourceUIDs uids;
    DcmDataset *src = lockSourceWithUIDs(req->source, sourceLock, uids, "SEG", err, errlen);
    if (!src) return 1;
    const OFString &srcClass = uids.sopClass, &srcInstance = uids.sopInstance, &srcSeries = uids.series;

    IODGeneralEquipmentModule::EquipmentInfo eq(s(req->ids.manufacturer), s(req->ids.model_name),
                                                s(req->ids.device_serial_number), s(req->ids.software_versions));
    ContentIdentificationMacro ci(s(req->ids.instance_number), s(req->content_label),
                                  s(req->content_description), s(req->content_creator));
    DcmSegmentation *rawSeg = NULL;
    OFCondition c = DcmSegmentation::createBinarySegmentation(rawSeg, req->rows, req->columns, eq, ci);
    if (c.bad() || !rawSeg) return fail(err, errlen, "SEG: cannot create segmentation: %s (equipment values must be non-empty)", c.text());
    std::unique_ptr<DcmSegmentation> seg(rawSeg);
    // 3.6.7 insists on a Frame of Reference; a 2D US SEG has none (the Derivation Image FG replaces it).
    seg->getFrameOfReference().getRules()->getByTag(DCM_FrameOfReferenceUID)->setType("1C");
    IODRule *pri = seg->getFrameOfReference().getRules()->getByTag(DCM_PositionReferenceIndicator);
    if (pri) pri->setType("3");
    c = seg->importFromSourceImage(*src, OFTrue);
    if (c.bad()) return fail(err, errlen, "SEG: cannot import patient/study from source: %s", c.text());

    c = seg->getSegmentationSeriesModule().setSeriesNumber(s(req->ids.series_number));
    if (c.good()) c = seg->getSeries().setSeriesInstanceUID(s(req->ids.series_instance_uid));
    if (c.good()) c = seg->getSOPCommon().setSOPInstanceUID(s(req->ids.sop_instance_uid));
    if (c.bad()) return fail(err, errlen, "SEG: invalid series number or UIDs: %s", c.text());

    DcmSegment *rawSegment = NULL;
    c = DcmSegment::create(rawSegment, s(req->segment_label),
                           CodeSequenceMacro(s(req->category.value), s(req->category.scheme), s(req->category.meaning)),
                           CodeSequenceMacro(s(req->type.value), s(req->type.scheme), s(req->type.meaning)),
                           DcmSegTypes::SAT_AUTOMATIC, s(req->algorithm_name));
    if (c.bad() || !rawSegment) return fail(err, errlen, "SEG: cannot create segment: %s", c.text());
    AlgorithmIdentificationMacro algo;
    algo.getAlgorithmFamilyCode().set(s(req->algorithm_family.value), s(req->algorithm_family.scheme),
                                      s(req->algorithm_family.meaning));
    algo.setAlgorithmName(s(req->algorithm_name));
    algo.setAlgorithmVersion(s(req->algorithm_version));
    rawSegment->setSegmentationAlgorithmIdentification(algo);
    Uint16 segNo = 0;
    c = seg->addSegment(rawSegment, segNo);  // takes ownership
    if (c.bad()) { delete rawSegment; return fail(err, errlen, "SEG: cannot add segment: %s", c.text()); }

    c = seg->getDimensions().addDimensionIndex(DCM_ReferencedSegmentNumber, s(req->dimension_organization_uid),
                                               DCM_SegmentIdentificationSequence, "ReferencedSegmentNumber");
    if (c.bad()) return fail(err, errlen, "SEG: cannot add dimension index: %s", c.text());

    const size_t frameBytes = OFstatic_cast(size_t, req->rows) * req->columns;
    OFVector<Uint8> buffer(frameBytes);
    for (uint32_t f = 0; f < req->frame_count; f++) {
        ImageSOPInstanceReferenceMacro ref;
        ref.setReferencedSOPClassUID(srcClass);
        ref.setReferencedSOPInstanceUID(srcInstance);
        if (req->source_frame_numbers) ref.addReferencedFrameNumber(OFstatic_cast(Uint16, req->source_frame_numbers[f]));
        OFVector<ImageSOPInstanceReferenceMacro> refs;
        refs.push_back(ref);
        std::unique_ptr<FGDerivationImage> deriv(DcmSegmentation::createDerivationImageFG(refs, s(req->derivation_description)));
        if (!deriv) return fail(err, errlen, "SEG: cannot create Derivation Image FG for frame %u", f + 1);
        FGFrameContent content;
        content.setDimensionIndexValues(segNo, 0);
        OFVector<FGBase *> groups;
        groups.push_back(deriv.get());
        groups.push_back(&content);
        memcpy(&buffer[0], req->masks + f * frameBytes, frameBytes);
        c = seg->addFrame(&buffer[0], segNo, groups);
        if (c.bad()) return fail(err, errlen, "SEG: cannot add frame %u: %s", f + 1, c.text());
    }

    DcmFileFormat out;
    DcmDataset *ds = out.getDataset();
    c = seg->writeDataset(*ds);
    if (c.bad()) return fail(err, errlen, "SEG: DCMTK refused to write: %s", c.text());

    // Patches and additions 3.6.7 does not do.
    c = putIds(*ds, req->ids);
    if (c.good()) c = ds->putAndInsertString(DCM_SegmentsOverlap, "NO");
    if (c.good()) {
        OFString po;
        if (req->patient_orientation) po = req->patient_orientation;
        else src->findAndGetOFStringArray(DCM_PatientOrientation, po);
        c = ds->putAndInsertOFStringArray(DCM_PatientOrientation, po);
    }
    // No series Laterality: dciodvfy rejects it in a SEG; the segment's anatomy modifier says it.
    ds->findAndDeleteElement(DCM_Laterality);
    if (c.good()) {
        ds->findAndDeleteElement(DCM_FrameOfReferenceUID);
        ds->findAndDeleteElement(DCM_PositionReferenceIndicator);
    }
    markSpatialLocationsPreserved(*ds);
    if (c.good()) {
        c = repackBinaryFrames(*ds, req->masks, frameBytes * req->frame_count);
        if (c.bad()) return fail(err, errlen, "SEG: cannot replace the packed frames: %s", c.text());
    }
    if (c.good() && req->lossy_flag) {
        c = ds->putAndInsertString(DCM_LossyImageCompression, "01");
        if (c.good()) c = putIfGiven(*ds, DCM_LossyImageCompressionRatio, req->lossy_ratio);
        if (c.good()) c = putIfGiven(*ds, DCM_LossyImageCompressionMethod, req->lossy_method);
    }
    // The segment's anatomy (Breast, with laterality as modifier when known).
    DcmItem *segItem = NULL;
    if (c.good() && has(req->anatomy.value) && ds->findAndGetSequenceItem(DCM_SegmentSequence, segItem, 0).good()) {
        c = putCodeItem(*segItem, DCM_AnatomicRegionSequence, req->anatomy, 0);
        DcmItem *region = NULL;
        if (c.good() && has(req->anatomy_modifier.value) &&
            segItem->findAndGetSequenceItem(DCM_AnatomicRegionSequence, region, 0).good())
            c = putCodeItem(*region, DCM_AnatomicRegionModifierSequence, req->anatomy_modifier, 0);
    }
    if (c.good() && req->shared_plane_orientation) {
        DcmItem *shared = NULL, *plane = NULL;
        c = ds->findOrCreateSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0);
        if (c.good()) c = shared->findOrCreateSequenceItem(DCM_PlaneOrientationSequence, plane, 0);
        if (c.good()) c = plane->putAndInsertString(DCM_ImageOrientationPatient, "1\\0\\0\\0\\1\\0");
    }
    // Common Instance Reference: the source series (same study).
    ds->findAndDeleteElement(DCM_ReferencedSeriesSequence);
    DcmItem *series = NULL, *inst = NULL;
    if (c.good()) c = ds->findOrCreateSequenceItem(DCM_ReferencedSeriesSequence, series, 0);
    if (c.good()) c = series->putAndInsertString(DCM_SeriesInstanceUID, srcSeries.c_str());
    if (c.good()) c = series->findOrCreateSequenceItem(DCM_ReferencedInstanceSequence, inst, 0);
    if (c.good()) c = inst->putAndInsertString(DCM_ReferencedSOPClassUID, srcClass.c_str());
    if (c.good()) c = inst->putAndInsertString(DCM_ReferencedSOPInstanceUID, srcInstance.c_str());
    if (c.bad()) return fail(err, errlen, "SEG: cannot complete dataset: %s", c.text());

    c = encodeFile(out, out_bytes);
    if (c.bad()) return fail(err, errlen, "SEG: cannot encode the object: %s", c.text());
    return 0;
}
