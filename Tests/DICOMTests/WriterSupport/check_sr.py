#!/usr/bin/env python3
"""Reads a WeCare SR with highdicom (srread) and a pydicom walk; prints what it says as JSON.

usage: check_sr.py SR.dcm [SOURCE.dcm]
"""
import json, sys
import highdicom as hd
import pydicom


PATIENT_STUDY = ("SpecificCharacterSet", "PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                 "StudyInstanceUID", "StudyDate", "StudyTime", "AccessionNumber", "StudyID")


def same_patient_study(derived, source_path):
    """Names of Patient/Study attributes whose values differ from the source's."""
    src = pydicom.dcmread(source_path, stop_before_pixels=True)
    return [k for k in PATIENT_STUDY if str(derived.get(k, "")) != str(src.get(k, ""))]


def ints(ds, keyword):
    """Values of a possibly multi-valued integer attribute, [] when absent."""
    if keyword not in ds:
        return []
    v = ds.get(keyword)
    return [int(x) for x in v] if isinstance(v, (list, tuple)) or hasattr(v, "__iter__") and not isinstance(v, str) else [int(v)]


def code(item):
    c = item.ConceptCodeSequence[0]
    return f"{c.CodingSchemeDesignator}:{c.CodeValue}"


def name(item):
    c = item.ConceptNameCodeSequence[0]
    return f"{c.CodingSchemeDesignator}:{c.CodeValue}"


def walk_group(group):
    g = {"measurements": {}, "codes": {}, "texts": {}, "images": [], "scoord": None, "template": None}
    if "ContentTemplateSequence" in group:
        g["template"] = group.ContentTemplateSequence[0].TemplateIdentifier
    for item in group.ContentSequence:
        vt, n = item.ValueType, name(item) if "ConceptNameCodeSequence" in item else None
        if vt == "NUM":
            mv = item.MeasuredValueSequence[0]
            unit = mv.MeasurementUnitsCodeSequence[0].CodeValue
            algo = {name(c): c.TextValue for c in item.get("ContentSequence", []) if c.ValueType == "TEXT"}
            g["measurements"][n] = {"value": float(mv.NumericValue), "unit": unit, "algorithm": algo}
        elif vt == "CODE":
            g["codes"][n] = code(item)
            for c in item.get("ContentSequence", []):
                if c.ValueType == "CODE":
                    g["codes"][n + ">" + name(c)] = code(c)
        elif vt in ("TEXT", "UIDREF"):
            g["texts"][n] = item.TextValue if vt == "TEXT" else item.UID
        elif vt == "IMAGE":
            ref = item.ReferencedSOPSequence[0]
            g["images"].append({"concept": n, "class": ref.ReferencedSOPClassUID, "instance": ref.ReferencedSOPInstanceUID,
                                "frames": ints(ref, "ReferencedFrameNumber"),
                                "segments": ints(ref, "ReferencedSegmentNumber")})
        elif vt == "SCOORD":
            sel = item.ContentSequence[0].ReferencedSOPSequence[0]
            g["scoord"] = {"type": item.GraphicType, "data": [float(v) for v in item.GraphicData],
                           "image": sel.ReferencedSOPInstanceUID,
                           "frames": ints(sel, "ReferencedFrameNumber")}
    return g


def main():
    sr = hd.sr.srread(sys.argv[1])
    out = {"sop_class": sr.SOPClassUID, "completion": sr.CompletionFlag, "verification": sr.VerificationFlag,
           "root": name(sr), "template": sr.ContentTemplateSequence[0].TemplateIdentifier,
           "modality": sr.Modality, "manufacturer": sr.Manufacturer}
    top = {}
    groups = []
    library = []
    for item in sr.ContentSequence:
        n = name(item)
        if item.ValueType == "CODE":
            top[n] = code(item)
        elif item.ValueType in ("TEXT", "UIDREF"):
            top[n] = item.TextValue if item.ValueType == "TEXT" else item.UID
        elif n == "DCM:111028":
            for grp in item.ContentSequence:
                for img in grp.ContentSequence:
                    ref = img.ReferencedSOPSequence[0]
                    library.append({"instance": ref.ReferencedSOPInstanceUID,
                                    "frames": ints(ref, "ReferencedFrameNumber")})
        elif n == "DCM:126010":
            groups = [walk_group(g) for g in item.get("ContentSequence", [])]
    out["top"] = top
    out["library"] = library
    out["groups"] = groups
    evidence = []
    for study in sr.CurrentRequestedProcedureEvidenceSequence:
        for series in study.ReferencedSeriesSequence:
            for sop in series.ReferencedSOPSequence:
                evidence.append(sop.ReferencedSOPInstanceUID)
    out["evidence"] = evidence
    # highdicom's own view of the TID 1500 groups
    try:
        planar = sr.content.get_planar_roi_measurement_groups()
        out["highdicom_planar_groups"] = len(planar)
        out["highdicom_planar_with_region"] = sum(1 for g in planar if g.roi is not None)
    except Exception as e:  # reported, so a test can show why
        out["highdicom_error"] = repr(e)
    if len(sys.argv) > 2:
        out["patient_study_differs"] = same_patient_study(sr, sys.argv[2])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
