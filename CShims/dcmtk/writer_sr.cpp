// Structured report from a content tree decided in Swift (TID 1500 and its groups): this file
// only maps the nodes onto DSRDocumentTree, adds the evidence and writes the file.
#include "writer_internal.h"
#include "dcmtk/dcmsr/dsrdoc.h"
#include <vector>

using namespace wcw;

static DSRTypes::E_RelationshipType relationship(int32_t r) {
    switch (r) {
    case WC_REL_ROOT: return DSRTypes::RT_isRoot;
    case WC_REL_CONTAINS: return DSRTypes::RT_contains;
    case WC_REL_HAS_OBS_CONTEXT: return DSRTypes::RT_hasObsContext;
    case WC_REL_HAS_CONCEPT_MOD: return DSRTypes::RT_hasConceptMod;
    case WC_REL_HAS_PROPERTIES: return DSRTypes::RT_hasProperties;
    case WC_REL_INFERRED_FROM: return DSRTypes::RT_inferredFrom;
    case WC_REL_SELECTED_FROM: return DSRTypes::RT_selectedFrom;
    default: return DSRTypes::RT_invalid;
    }
}

static DSRTypes::E_ValueType valueType(int32_t v) {
    switch (v) {
    case WC_VT_CONTAINER: return DSRTypes::VT_Container;
    case WC_VT_TEXT: return DSRTypes::VT_Text;
    case WC_VT_CODE: return DSRTypes::VT_Code;
    case WC_VT_NUM: return DSRTypes::VT_Num;
    case WC_VT_UIDREF: return DSRTypes::VT_UIDRef;
    case WC_VT_IMAGE: return DSRTypes::VT_Image;
    case WC_VT_SCOORD: return DSRTypes::VT_SCoord;
    default: return DSRTypes::VT_invalid;
    }
}

static DSRTypes::E_GraphicType graphicType(int32_t g) {
    switch (g) {
    case WC_GT_POINT: return DSRTypes::GT_Point;
    case WC_GT_POLYLINE: return DSRTypes::GT_Polyline;
    case WC_GT_CIRCLE: return DSRTypes::GT_Circle;
    case WC_GT_ELLIPSE: return DSRTypes::GT_Ellipse;
    case WC_GT_MULTIPOINT: return DSRTypes::GT_Multipoint;
    default: return DSRTypes::GT_invalid;
    }
}

static DSRCodedEntryValue code(const wc_code &c) {
    return DSRCodedEntryValue(s(c.value), s(c.scheme), s(c.meaning));
}

static OFCondition fillItem(DSRDocumentTree &tree, const wc_sr_node &n) {
    DSRContentItem &item = tree.getCurrentContentItem();
    OFCondition c = EC_Normal;
    if (has(n.concept.value)) c = item.setConceptName(code(n.concept));
    if (c.bad()) return c;
    switch (n.value_type) {
    case WC_VT_CONTAINER:
        c = item.setContinuityOfContent(DSRTypes::COC_Separate);
        if (c.good() && has(n.template_id)) c = item.setTemplateIdentification(n.template_id, "DCMR");
        break;
    case WC_VT_TEXT:
    case WC_VT_UIDREF:
        c = item.setStringValue(s(n.text));
        break;
    case WC_VT_CODE:
        c = item.setCodeValue(code(n.code));
        break;
    case WC_VT_NUM:
        c = item.setNumericValue(DSRNumericMeasurementValue(s(n.text), code(n.code)));
        break;
    case WC_VT_IMAGE: {
        DSRImageReferenceValue ref(s(n.ref_sop_class_uid), s(n.ref_sop_instance_uid));
        for (size_t i = 0; i < n.ref_frame_count; i++) ref.getFrameList().addItem(n.ref_frames[i]);
        for (size_t i = 0; i < n.ref_segment_count; i++)
            ref.getSegmentList().addItem(OFstatic_cast(Uint16, n.ref_segments[i]));
        c = item.setImageReference(ref);
        break;
    }
    case WC_VT_SCOORD: {
        DSRSpatialCoordinatesValue sc(graphicType(n.graphic_type));
        for (size_t i = 0; i < n.graphic_point_count; i++)
            sc.getGraphicDataList().addItem(n.graphic_data[2 * i], n.graphic_data[2 * i + 1]);
        c = item.setSpatialCoordinates(sc);
        break;
    }
    default:
        c = EC_IllegalParameter;
    }
    return c;
}

extern "C" int wc_write_sr(const wc_sr_request *req, wc_bytes *out_bytes, char *err, size_t errlen) {
    if (!req || !out_bytes || !req->nodes || req->node_count == 0)
        return fail(err, errlen, "SR: no request, output buffer or content nodes");
    std::unique_lock<std::mutex> sourceLock;
    DcmDataset *src = lockSource(req->source, sourceLock, err, errlen);
    if (!src) return 1;
    OFString studyUID;
    src->findAndGetOFString(DCM_StudyInstanceUID, studyUID);
    if (studyUID.empty()) return fail(err, errlen, "SR: source instance lacks Study Instance UID");

    DSRTypes::E_DocumentType type = DSRTypes::sopClassUIDToDocumentType(s(req->sop_class_uid));
    if (type == DSRTypes::DT_invalid) return fail(err, errlen, "SR: unsupported SR SOP class %s", s(req->sop_class_uid).c_str());
    DSRDocument doc(type);
    OFCondition c = doc.createNewSeriesInStudy(studyUID);
    if (c.bad()) return fail(err, errlen, "SR: bad study UID: %s", c.text());
    DSRDocumentTree &tree = doc.getTree();
    std::vector<size_t> ids(req->node_count, 0);
    for (size_t i = 0; i < req->node_count; i++) {
        const wc_sr_node &n = req->nodes[i];
        size_t id = 0;
        if (n.parent < 0) {
            if (i != 0) return fail(err, errlen, "SR: node %zu has no parent but is not the first node", i);
            id = tree.addContentItem(DSRTypes::RT_isRoot, valueType(n.value_type), DSRTypes::AM_afterCurrent);
        } else {
            if (OFstatic_cast(size_t, n.parent) >= i)
                return fail(err, errlen, "SR: node %zu names parent %d that does not precede it", i, n.parent);
            if (tree.gotoNode(ids[n.parent]) == 0) return fail(err, errlen, "SR: cannot find parent of node %zu", i);
            id = tree.addContentItem(relationship(n.relationship), valueType(n.value_type), DSRTypes::AM_belowCurrent);
        }
        if (id == 0)
            return fail(err, errlen, "SR: node %zu (%s) cannot be added with relationship %d / value type %d under node %d: "
                        "not allowed in this SR IOD", i, s(n.concept.meaning).c_str(), n.relationship, n.value_type, n.parent);
        ids[i] = id;
        c = fillItem(tree, n);
        if (c.bad()) return fail(err, errlen, "SR: node %zu (%s): invalid value: %s", i, s(n.concept.meaning).c_str(), c.text());
    }
    for (size_t i = 0; i < req->evidence_count; i++) {
        const wc_sop_ref &e = req->evidence[i];
        c = doc.getCurrentRequestedProcedureEvidence().addItem(s(e.study_instance_uid), s(e.series_instance_uid),
                                                               s(e.sop_class_uid), s(e.sop_instance_uid));
        if (c.bad()) return fail(err, errlen, "SR: evidence item %zu: %s", i, c.text());
    }
    c = doc.completeDocument();
    if (c.bad()) return fail(err, errlen, "SR: cannot complete document: %s", c.text());

    DcmFileFormat out;
    DcmDataset *ds = out.getDataset();
    c = doc.write(*ds);
    if (c.bad()) return fail(err, errlen, "SR: DCMTK refused to write: %s", c.text());
    copyPatientStudy(*src, *ds);
    c = putIds(*ds, req->ids);
    for (size_t i = 0; c.good() && i < req->scheme_count; i++) {
        DcmItem *item = NULL;
        c = ds->findOrCreateSequenceItem(DCM_CodingSchemeIdentificationSequence, item, -2);
        if (c.good()) c = item->putAndInsertString(DCM_CodingSchemeDesignator, s(req->schemes[i].designator).c_str());
        if (c.good()) c = putIfGiven(*item, DCM_CodingSchemeName, req->schemes[i].name);
        if (c.good()) c = putIfGiven(*item, DCM_CodingSchemeResponsibleOrganization, req->schemes[i].responsible_organization);
    }
    if (c.bad()) return fail(err, errlen, "SR: cannot set identification: %s", c.text());
    c = encodeFile(out, out_bytes);
    if (c.bad()) return fail(err, errlen, "SR: cannot encode the object: %s", c.text());
    return 0;
}
