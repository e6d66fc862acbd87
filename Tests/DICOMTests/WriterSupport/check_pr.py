#!/usr/bin/env python3
"""Reads a presentation state with pydicom and prints its annotations and references as JSON.

usage: check_pr.py PR.dcm [SOURCE.dcm]
"""
import json, sys
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


def main():
    ds = pydicom.dcmread(sys.argv[1])
    out = {"sop_class": ds.SOPClassUID, "modality": ds.Modality, "manufacturer": ds.Manufacturer,
           "content_label": ds.ContentLabel, "study": ds.StudyInstanceUID, "series": ds.SeriesInstanceUID,
           "has_icc": "ICCProfile" in ds, "icc_bytes": len(ds.ICCProfile) if "ICCProfile" in ds else 0,
           "presentation_lut_shape": ds.get("PresentationLUTShape")}
    ref = ds.ReferencedSeriesSequence[0].ReferencedImageSequence[0]
    out["referenced_image"] = ref.ReferencedSOPInstanceUID
    out["referenced_frames"] = ints(ref, "ReferencedFrameNumber")
    layers = [l.GraphicLayer for l in ds.GraphicLayerSequence]
    ann = ds.GraphicAnnotationSequence[0]
    out["layer_declared"] = ann.GraphicLayer in layers
    out["graphics"] = [{"type": g.GraphicType, "units": g.GraphicAnnotationUnits, "points": int(g.NumberOfGraphicPoints),
                        "data": [float(v) for v in g.GraphicData]} for g in ann.GraphicObjectSequence]
    out["texts"] = [t.UnformattedTextValue for t in ann.TextObjectSequence]
    a = ds.DisplayedAreaSelectionSequence[0]
    out["displayed_area"] = [int(v) for v in a.DisplayedAreaTopLeftHandCorner] + [int(v) for v in a.DisplayedAreaBottomRightHandCorner]
    if len(sys.argv) > 2:
        out["patient_study_differs"] = same_patient_study(ds, sys.argv[2])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
