// Structured report from a content tree decided in Swift (TID 1500 and its groups): this file
// only maps the nodes onto content items, adds the SR document modules and writes the file.
// Written with plain dcmdata, like the SEG and the presentation state: dcmsr's document tree
// (building it, checking it against the IOD, writing it out) took most of the writer's CPU per
// image, and the tree is already decided and checked in Swift (dciodvfy checks every object
// in the tests).
#include "writer_internal.h"
#include <string>
#include <vector>

using namespace wcw;

// PS3.3 C.17.3: the enumerated values as written.
static const char *relationshipName(int32_t r) {
    switch (r) {
    case WC_REL_CONTAINS: return "CONTAINS";
    case WC_REL_HAS_OBS_CONTEXT: return "HAS OBS CONTEXT";
    case WC_REL_HAS_CONCEPT_MOD: return "HAS CONCEPT MOD";
    case WC_REL_HAS_PROPERTIES: return "HAS PROPERTIES";
    case WC_REL_INFERRED_FROM: return "INFERRED FROM";
    case WC_REL_SELECTED_FROM: return "SELECTED FROM";
    default: return NULL;
    }
}

static const char *valueTypeName(int32_t v) {
    switch (v) {
    case WC_VT_CONTAINER: return "CONTAINER";
    case WC_VT_TEXT: return "TEXT";
    case WC_VT_CODE: return "CODE";
    case WC_VT_NUM: return "NUM";
    case WC_VT_UIDREF: return "UIDREF";
    case WC_VT_IMAGE: return "IMAGE";
    case WC_VT_SCOORD: return "SCOORD";
    case WC_VT_PNAME: return "PNAME";
    default: return NULL;
    }
}

static const char *graphicTypeName(int32_t g) {
    switch (g) {
    case WC_GT_POINT: return "POINT";
    case WC_GT_POLYLINE: return "POLYLINE";
    case WC_GT_CIRCLE: return "CIRCLE";
    case WC_GT_ELLIPSE: return "ELLIPSE";
    case WC_GT_MULTIPOINT: return "MULTIPOINT";
    default: return NULL;
    }
}

// A new item at the end of the sequence `tag` of parent (the sequence created when absent).
static DcmItem *appendItem(DcmItem &parent, const DcmTagKey &tag) {
    DcmItem *item = NULL;
    return parent.findOrCreateSequenceItem(tag, item, -2).good() ? item : NULL;
}

// Relationship, value type, concept name and value of one content item (PS3.3 C.17.3, C.18).
static OFCondition fillItem(DcmItem &item, const wc_sr_node &n, bool root) {
    const char *vt = valueTypeName(n.value_type);
    if (!vt) return makeOFCondition(0, 1, OF_error, "unknown value type");
    OFCondition c = EC_Normal;
    if (!root) {
        const char *rel = relationshipName(n.relationship);
        if (!rel) return makeOFCondition(0, 2, OF_error, "unknown relationship type");
        c = item.putAndInsertString(DCM_RelationshipType, rel);
    }
    if (c.good()) c = item.putAndInsertString(DCM_ValueType, vt);
    if (c.good() && has(n.concept.value)) c = putCodeItem(item, DCM_ConceptNameCodeSequence, n.concept, 0);
    if (c.bad()) return c;
    switch (n.value_type) {
    case WC_VT_CONTAINER:
        c = item.putAndInsertString(DCM_ContinuityOfContent, "SEPARATE");
        if (c.good() && has(n.template_id)) {
            DcmItem *t = appendItem(item, DCM_ContentTemplateSequence);
            if (!t) return EC_MemoryExhausted;
            c = t->putAndInsertString(DCM_MappingResource, "DCMR");
            if (c.good()) c = t->putAndInsertString(DCM_TemplateIdentifier, n.template_id);
        }
        return c;
    case WC_VT_TEXT:
        if (!has(n.text)) return makeOFCondition(0, 3, OF_error, "empty text value");
        return item.putAndInsertString(DCM_TextValue, n.text);
    case WC_VT_UIDREF:
        if (!has(n.text)) return makeOFCondition(0, 4, OF_error, "empty UID value");
        return item.putAndInsertString(DCM_UID, n.text);
    case WC_VT_PNAME:
        if (!has(n.text)) return makeOFCondition(0, 11, OF_error, "empty person name");
        return item.putAndInsertString(DCM_PersonName, n.text);
    case WC_VT_CODE:
        if (!has(n.code.value)) return makeOFCondition(0, 5, OF_error, "code value without a code");
        return putCodeItem(item, DCM_ConceptCodeSequence, n.code, 0);
    case WC_VT_NUM: {
        if (!has(n.text) || !has(n.code.value)) return makeOFCondition(0, 6, OF_error, "numeric value without number or unit");
        DcmItem *mv = appendItem(item, DCM_MeasuredValueSequence);
        if (!mv) return EC_MemoryExhausted;
        c = putCodeItem(*mv, DCM_MeasurementUnitsCodeSequence, n.code, 0);
        if (c.good()) c = mv->putAndInsertString(DCM_NumericValue, n.text);
        return c;
    }
    case WC_VT_IMAGE: {
        if (!has(n.ref_sop_class_uid) || !has(n.ref_sop_instance_uid))
            return makeOFCondition(0, 7, OF_error, "image reference without SOP Class/Instance UID");
        DcmItem *ref = appendItem(item, DCM_ReferencedSOPSequence);
        if (!ref) return EC_MemoryExhausted;
        c = ref->putAndInsertString(DCM_ReferencedSOPClassUID, n.ref_sop_class_uid);
        if (c.good()) c = ref->putAndInsertString(DCM_ReferencedSOPInstanceUID, n.ref_sop_instance_uid);
        if (c.good() && n.ref_frame_count > 0)
            c = ref->putAndInsertString(DCM_ReferencedFrameNumber, joinedInts(n.ref_frames, n.ref_frame_count).c_str());
        if (c.good() && n.ref_segment_count > 0) {
            std::vector<Uint16> segments(n.ref_segments, n.ref_segments + n.ref_segment_count);
            c = ref->putAndInsertUint16Array(DCM_ReferencedSegmentNumber, segments.data(), OFstatic_cast(unsigned long, segments.size()));
        }
        return c;
    }
    case WC_VT_SCOORD: {
        const char *gt = graphicTypeName(n.graphic_type);
        if (!gt || n.graphic_point_count == 0) return makeOFCondition(0, 8, OF_error, "spatial coordinates without type or points");
        c = item.putAndInsertFloat32Array(DCM_GraphicData, n.graphic_data, OFstatic_cast(unsigned long, 2 * n.graphic_point_count));
        if (c.good()) c = item.putAndInsertString(DCM_GraphicType, gt);
        return c;
    }
    }
    return EC_IllegalParameter;
}

// Current Requested Procedure Evidence: the references grouped by study, then series, in the
// order they were given (PS3.3 C.17.2.3, the Hierarchical SOP Instance Reference Macro).
static OFCondition putEvidence(DcmItem &ds, const wc_sop_ref *refs, size_t count) {
    std::vector<std::pair<std::string, DcmItem *>> studies, series;
    for (size_t i = 0; i < count; i++) {
        const wc_sop_ref &r = refs[i];
        if (!has(r.study_instance_uid) || !has(r.series_instance_uid) || !has(r.sop_class_uid) || !has(r.sop_instance_uid))
            return makeOFCondition(0, 9, OF_error, "evidence item lacks a UID");
        DcmItem *study = NULL, *serie = NULL;
        for (auto &s : studies) if (s.first == r.study_instance_uid) study = s.second;
        if (!study) {
            if (!(study = appendItem(ds, DCM_CurrentRequestedProcedureEvidenceSequence))) return EC_MemoryExhausted;
            OFCondition c = study->putAndInsertString(DCM_StudyInstanceUID, r.study_instance_uid);
            if (c.bad()) return c;
            studies.emplace_back(r.study_instance_uid, study);
        }
        std::string seriesKey = std::string(r.study_instance_uid) + "/" + r.series_instance_uid;
        for (auto &s : series) if (s.first == seriesKey) serie = s.second;
        if (!serie) {
            if (!(serie = appendItem(*study, DCM_ReferencedSeriesSequence))) return EC_MemoryExhausted;
            OFCondition c = serie->putAndInsertString(DCM_SeriesInstanceUID, r.series_instance_uid);
            if (c.bad()) return c;
            series.emplace_back(seriesKey, serie);
        }
        DcmItem *sop = appendItem(*serie, DCM_ReferencedSOPSequence);
        if (!sop) return EC_MemoryExhausted;
        OFCondition c = sop->putAndInsertString(DCM_ReferencedSOPClassUID, r.sop_class_uid);
        if (c.good()) c = sop->putAndInsertString(DCM_ReferencedSOPInstanceUID, r.sop_instance_uid);
        if (c.bad()) return c;
    }
    return EC_Normal;
}

// SR Document Series and SR Document General modules around the content (PS3.3 C.17.1, C.17.2).
static OFCondition putDocument(DcmItem &ds, const wc_sr_request &req) {
    OFCondition c = ds.putAndInsertString(DCM_SOPClassUID, s(req.sop_class_uid).c_str());
    if (c.good()) c = putIds(ds, req.ids);
    if (c.good()) c = ds.putAndInsertString(DCM_Modality, "SR");
    if (c.good()) c = ds.insertEmptyElement(DCM_ReferencedPerformedProcedureStepSequence);
    if (c.good()) c = ds.insertEmptyElement(DCM_PerformedProcedureCodeSequence);
    if (c.good()) c = ds.putAndInsertString(DCM_CompletionFlag, req.completion_flag ? req.completion_flag : "COMPLETE");
    if (c.good()) c = ds.putAndInsertString(DCM_VerificationFlag, has(req.verifying_observer_name) ? "VERIFIED" : "UNVERIFIED");
    if (c.good() && has(req.verifying_observer_name)) {
        // PS3.3 C.17.2: one item per signer; the identification code sequence is type 2 (empty).
        DcmItem *observer = appendItem(ds, DCM_VerifyingObserverSequence);
        if (!observer) return EC_MemoryExhausted;
        c = observer->putAndInsertString(DCM_VerifyingObserverName, req.verifying_observer_name);
        if (c.good()) c = observer->putAndInsertString(DCM_VerifyingOrganization, s(req.verifying_organization).c_str());
        if (c.good()) c = observer->putAndInsertString(DCM_VerificationDateTime, s(req.verification_datetime).c_str());
        if (c.good()) c = observer->insertEmptyElement(DCM_VerifyingObserverIdentificationCodeSequence);
    }
    // Hierarchical SOP Instance Reference per predecessor: study > series > SOP.
    for (size_t i = 0; c.good() && i < req.predecessor_count; i++) {
        const wc_sop_ref &r = req.predecessors[i];
        if (!has(r.study_instance_uid) || !has(r.series_instance_uid) || !has(r.sop_class_uid) || !has(r.sop_instance_uid))
            return makeOFCondition(0, 10, OF_error, "predecessor document lacks a UID");
        DcmItem *study = appendItem(ds, DCM_PredecessorDocumentsSequence);
        if (!study) return EC_MemoryExhausted;
        c = study->putAndInsertString(DCM_StudyInstanceUID, r.study_instance_uid);
        DcmItem *serie = c.good() ? appendItem(*study, DCM_ReferencedSeriesSequence) : NULL;
        if (c.good() && !serie) return EC_MemoryExhausted;
        if (c.good()) c = serie->putAndInsertString(DCM_SeriesInstanceUID, r.series_instance_uid);
        DcmItem *sop = c.good() ? appendItem(*serie, DCM_ReferencedSOPSequence) : NULL;
        if (c.good() && !sop) return EC_MemoryExhausted;
        if (c.good()) c = sop->putAndInsertString(DCM_ReferencedSOPClassUID, r.sop_class_uid);
        if (c.good()) c = sop->putAndInsertString(DCM_ReferencedSOPInstanceUID, r.sop_instance_uid);
    }
    for (size_t i = 0; c.good() && i < req.scheme_count; i++) {
        DcmItem *item = appendItem(ds, DCM_CodingSchemeIdentificationSequence);
        if (!item) return EC_MemoryExhausted;
        c = item->putAndInsertString(DCM_CodingSchemeDesignator, s(req.schemes[i].designator).c_str());
        if (c.good()) c = putIfGiven(*item, DCM_CodingSchemeName, req.schemes[i].name);
        if (c.good()) c = putIfGiven(*item, DCM_CodingSchemeResponsibleOrganization, req.schemes[i].responsible_organization);
    }
    return c;
}

static const char *const kComprehensive3DSR = "1.2.840.10008.5.1.4.1.1.88.34";
static const char *const kEnhancedSR = "1.2.840.10008.5.1.4.1.1.88.22";

extern "C" int wc_write_sr(const wc_sr_request *req, wc_bytes *out_bytes, char *err, size_t errlen) {
    if (!req || !out_bytes || !req->nodes || req->node_count == 0)
        return fail(err, errlen, "SR: no request, output buffer or content nodes");
    if (s(req->sop_class_uid) != kComprehensive3DSR && s(req->sop_class_uid) != kEnhancedSR)
        return fail(err, errlen, "SR: unsupported SR SOP class %s", s(req->sop_class_uid).c_str());
    if (req->nodes[0].parent >= 0 || req->nodes[0].value_type != WC_VT_CONTAINER)
        return fail(err, errlen, "SR: the first node must be the root CONTAINER");
    std::unique_lock<std::mutex> sourceLock;
    DcmDataset *src = lockSource(req->source, sourceLock, err, errlen);
    if (!src) return 1;
    OFString studyUID;
    src->findAndGetOFString(DCM_StudyInstanceUID, studyUID);
    if (studyUID.empty()) return fail(err, errlen, "SR: source instance lacks Study Instance UID");

    DcmFileFormat out;
    DcmDataset *ds = out.getDataset();
    // Pre-order: every parent's item exists before its children are appended to its Content Sequence.
    std::vector<DcmItem *> items(req->node_count, NULL);
    items[0] = ds;
    for (size_t i = 0; i < req->node_count; i++) {
        const wc_sr_node &n = req->nodes[i];
        if (i > 0) {
            if (n.parent < 0 || OFstatic_cast(size_t, n.parent) >= i)
                return fail(err, errlen, "SR: node %zu names parent %d that does not precede it", i, n.parent);
            if (req->nodes[n.parent].value_type != WC_VT_CONTAINER && n.relationship == WC_REL_CONTAINS)
                return fail(err, errlen, "SR: node %zu (%s): only a CONTAINER may CONTAIN", i, s(n.concept.meaning).c_str());
            items[i] = appendItem(*items[n.parent], DCM_ContentSequence);
            if (!items[i]) return fail(err, errlen, "SR: node %zu: out of memory", i);
        }
        OFCondition c = fillItem(*items[i], n, i == 0);
        if (c.bad()) return fail(err, errlen, "SR: node %zu (%s): invalid value: %s", i, s(n.concept.meaning).c_str(), c.text());
    }
    OFCondition c = putEvidence(*ds, req->evidence, req->evidence_count);
    if (c.bad()) return fail(err, errlen, "SR: evidence: %s", c.text());
    copyPatientStudy(*src, *ds);
    c = putDocument(*ds, *req);
    if (c.bad()) return fail(err, errlen, "SR: cannot set identification: %s", c.text());
    c = encodeFile(out, out_bytes);
    if (c.bad()) return fail(err, errlen, "SR: cannot encode the object: %s", c.text());
    return 0;
}
