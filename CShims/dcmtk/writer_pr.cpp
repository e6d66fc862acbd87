// Presentation state with graphic annotations, written with plain dcmdata so that the same code
// serves GSPS (monochrome sources) and Color SPS (colour sources; dcmpstat refuses those).
#include "writer_internal.h"
#include <string>

using namespace wcw;

// Referenced Series > Referenced Image (+ frames) of the source.
static OFCondition putReferencedImage(DcmItem &parent, const OFString &cls, const OFString &inst,
                                      const wc_pr_request &req) {
    DcmItem *img = NULL;
    OFCondition c = parent.findOrCreateSequenceItem(DCM_ReferencedImageSequence, img, -2);
    if (c.good()) c = img->putAndInsertString(DCM_ReferencedSOPClassUID, cls.c_str());
    if (c.good()) c = img->putAndInsertString(DCM_ReferencedSOPInstanceUID, inst.c_str());
    if (c.good() && req.referenced_frame_count > 0)
        c = img->putAndInsertString(DCM_ReferencedFrameNumber,
                                    joinedInts(req.referenced_frames, req.referenced_frame_count).c_str());
    return c;
}

extern "C" int wc_write_pr(const wc_pr_request *req, wc_bytes *out_bytes, char *err, size_t errlen) {
    if (!req || !out_bytes) return fail(err, errlen, "PR: no request or no output buffer");
    std::unique_lock<std::mutex> sourceLock;
    SourceUIDs uids;
    DcmDataset *src = lockSourceWithUIDs(req->source, sourceLock, uids, "PR", err, errlen);
    if (!src) return 1;
    const OFString &srcClass = uids.sopClass, &srcInstance = uids.sopInstance, &srcSeries = uids.series;

    DcmFileFormat out;
    DcmDataset *ds = out.getDataset();
    copyPatientStudy(*src, *ds);
    OFCondition c = ds->putAndInsertString(DCM_SOPClassUID, s(req->sop_class_uid).c_str());
    if (c.good()) c = putIds(*ds, req->ids);
    if (c.good()) c = ds->putAndInsertString(DCM_Modality, "PR");
    // Presentation State Identification (with Content Identification).
    if (c.good()) c = ds->putAndInsertString(DCM_ContentLabel, s(req->content_label).c_str());
    if (c.good()) c = ds->putAndInsertString(DCM_ContentDescription, s(req->content_description).c_str());
    // General Series Laterality (2C: breast is paired and a PR has no Image Laterality).
    if (c.good()) c = ds->putAndInsertString(DCM_Laterality, s(req->ids.laterality).c_str());
    if (c.good()) c = ds->putAndInsertString(DCM_ContentCreatorName, s(req->content_creator).c_str());
    if (c.good()) c = ds->putAndInsertString(DCM_PresentationCreationDate, s(req->ids.content_date).c_str());
    if (c.good()) c = ds->putAndInsertString(DCM_PresentationCreationTime, s(req->ids.content_time).c_str());
    // The content date/time of a PR are its creation date/time; General Image is not in the IOD.
    ds->findAndDeleteElement(DCM_ContentDate);
    ds->findAndDeleteElement(DCM_ContentTime);
    // Presentation State Relationship.
    DcmItem *series = NULL;
    if (c.good()) c = ds->findOrCreateSequenceItem(DCM_ReferencedSeriesSequence, series, 0);
    if (c.good()) c = series->putAndInsertString(DCM_SeriesInstanceUID, srcSeries.c_str());
    if (c.good()) c = putReferencedImage(*series, srcClass, srcInstance, *req);
    // Displayed Area: the whole image, 1:1 aspect (US has no Pixel Spacing).
    DcmItem *area = NULL;
    if (c.good()) c = ds->findOrCreateSequenceItem(DCM_DisplayedAreaSelectionSequence, area, 0);
    if (c.good()) c = area->putAndInsertString(DCM_DisplayedAreaTopLeftHandCorner, "1\\1");
    if (c.good()) {
        std::string br = std::to_string(req->columns) + "\\" + std::to_string(req->rows);
        c = area->putAndInsertString(DCM_DisplayedAreaBottomRightHandCorner, br.c_str());
    }
    if (c.good()) c = area->putAndInsertString(DCM_PresentationSizeMode, "SCALE TO FIT");
    if (c.good()) c = area->putAndInsertString(DCM_PresentationPixelAspectRatio, "1\\1");
    // Graphic Layer.
    DcmItem *layer = NULL;
    if (c.good()) c = ds->findOrCreateSequenceItem(DCM_GraphicLayerSequence, layer, 0);
    if (c.good()) c = layer->putAndInsertString(DCM_GraphicLayer, s(req->layer_name).c_str());
    if (c.good()) c = layer->putAndInsertString(DCM_GraphicLayerOrder, "1");
    if (c.good() && req->layer_gray >= 0)
        c = layer->putAndInsertUint16(DCM_GraphicLayerRecommendedDisplayGrayscaleValue, OFstatic_cast(Uint16, req->layer_gray));
    if (c.good() && req->layer_cielab)
        c = layer->putAndInsertUint16Array(DCM_GraphicLayerRecommendedDisplayCIELabValue, req->layer_cielab, 3);
    if (c.good()) c = putIfGiven(*layer, DCM_GraphicLayerDescription, req->layer_description);
    // Graphic Annotation: one item on the layer with all graphics and texts.
    DcmItem *ann = NULL;
    if (c.good()) c = ds->findOrCreateSequenceItem(DCM_GraphicAnnotationSequence, ann, 0);
    if (c.good()) c = putReferencedImage(*ann, srcClass, srcInstance, *req);
    if (c.good()) c = ann->putAndInsertString(DCM_GraphicLayer, s(req->layer_name).c_str());
    for (size_t i = 0; c.good() && i < req->text_count; i++) {
        const wc_pr_text &t = req->texts[i];
        DcmItem *obj = NULL;
        c = ann->findOrCreateSequenceItem(DCM_TextObjectSequence, obj, -2);
        if (c.good()) c = obj->putAndInsertString(DCM_BoundingBoxAnnotationUnits, "PIXEL");
        if (c.good()) c = obj->putAndInsertString(DCM_UnformattedTextValue, s(t.text).c_str());
        if (c.good()) c = obj->putAndInsertFloat32Array(DCM_BoundingBoxTopLeftHandCorner, t.top_left, 2);
        if (c.good()) c = obj->putAndInsertFloat32Array(DCM_BoundingBoxBottomRightHandCorner, t.bottom_right, 2);
        if (c.good()) c = obj->putAndInsertString(DCM_BoundingBoxTextHorizontalJustification, "LEFT");
        if (c.good() && t.has_anchor) {
            c = obj->putAndInsertString(DCM_AnchorPointAnnotationUnits, "PIXEL");
            if (c.good()) c = obj->putAndInsertFloat32Array(DCM_AnchorPoint, t.anchor, 2);
            if (c.good()) c = obj->putAndInsertString(DCM_AnchorPointVisibility, "N");
        }
    }
    for (size_t i = 0; c.good() && i < req->graphic_count; i++) {
        const wc_pr_graphic &g = req->graphics[i];
        if (g.point_count < 2 || !g.points) return fail(err, errlen, "PR: graphic %zu has fewer than 2 points", i);
        DcmItem *obj = NULL;
        c = ann->findOrCreateSequenceItem(DCM_GraphicObjectSequence, obj, -2);
        if (c.good()) c = obj->putAndInsertString(DCM_GraphicAnnotationUnits, "PIXEL");
        if (c.good()) c = obj->putAndInsertUint16(DCM_GraphicDimensions, 2);
        if (c.good()) c = obj->putAndInsertUint16(DCM_NumberOfGraphicPoints, OFstatic_cast(Uint16, g.point_count));
        if (c.good()) c = obj->putAndInsertFloat32Array(DCM_GraphicData, g.points, OFstatic_cast(unsigned long, 2 * g.point_count));
        if (c.good()) c = obj->putAndInsertString(DCM_GraphicType, has(g.graphic_type) ? g.graphic_type : "POLYLINE");
        if (c.good()) c = obj->putAndInsertString(DCM_GraphicFilled, g.filled ? "Y" : "N");
    }
    // Grayscale: Softcopy Presentation LUT. Colour: the ICC profile of the display space.
    if (c.good() && has(req->presentation_lut_shape))
        c = ds->putAndInsertString(DCM_PresentationLUTShape, req->presentation_lut_shape);
    if (c.good() && req->icc_profile && req->icc_profile_length > 0)
        c = ds->putAndInsertUint8Array(DCM_ICCProfile, req->icc_profile, OFstatic_cast(unsigned long, req->icc_profile_length));
    if (c.bad()) return fail(err, errlen, "PR: cannot build dataset: %s", c.text());
    c = encodeFile(out, out_bytes);
    if (c.bad()) return fail(err, errlen, "PR: cannot encode the object: %s", c.text());
    return 0;
}
