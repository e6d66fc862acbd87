"""Reads WeCare's derived objects back with highdicom / pydicom (independent readers) and prints
what the tests assert on, as JSON. Usage: check_outputs.py SOURCE.dcm DIR"""
import json
import os
import sys

import highdicom as hd
import numpy as np
import pydicom
from PIL import Image

src_path, d = sys.argv[1], sys.argv[2]
src = pydicom.dcmread(src_path)
out = {}
seg_path = os.path.join(d, "seg.dcm")
if os.path.exists(seg_path):
    seg = hd.seg.segread(seg_path)
    out["seg_frames"] = int(seg.NumberOfFrames)
    out["seg_study"] = seg.StudyInstanceUID == src.StudyInstanceUID
    if "NumberOfFrames" in src:
        frames = sorted({int(i.ReferencedFrameNumber) for f in seg.PerFrameFunctionalGroupsSequence
                         for i in f.DerivationImageSequence[0].SourceImageSequence})
        pix = seg.get_pixels_by_source_frame(source_sop_instance_uid=src.SOPInstanceUID,
                                             source_frame_numbers=frames, segment_numbers=[1])
        out["seg_source_frames"] = frames
    else:
        pix = seg.get_pixels_by_source_instance(source_sop_instance_uids=[src.SOPInstanceUID], segment_numbers=[1])
    pix = np.asarray(pix)[..., 0] > 0
    out["seg_pixels_per_frame"] = [int(p.sum()) for p in pix]
    mask = np.asarray(Image.open(os.path.join(d, "mask.png"))) > 0
    # The mask PNG is the reported frame: it must equal that frame's SEG frame pixel for pixel.
    reported = 0
    if "NumberOfFrames" in src:
        with open(os.path.join(d, "result.json")) as f:
            reported = frames.index(json.load(f)["frame"])
    out["seg_equals_mask"] = bool((pix[reported] == mask).all())
sr = pydicom.dcmread(os.path.join(d, "sr.dcm"))
out["sr_study"] = sr.StudyInstanceUID == src.StudyInstanceUID


def walk(items, acc):
    for it in items:
        name = it.ConceptNameCodeSequence[0].CodeMeaning if "ConceptNameCodeSequence" in it else ""
        if it.ValueType == "NUM":
            mv = it.MeasuredValueSequence[0]
            acc.append({"name": name, "value": float(mv.NumericValue),
                        "unit": mv.MeasurementUnitsCodeSequence[0].CodeValue})
        if "ContentSequence" in it:
            walk(it.ContentSequence, acc)
    return acc


out["sr_numbers"] = walk(sr.ContentSequence, [])


def groups(items, acc):
    """Each Measurement Group as a reader sees it: its Tracking Identifier and what it states."""
    for it in items:
        name = it.ConceptNameCodeSequence[0].CodeMeaning if "ConceptNameCodeSequence" in it else ""
        if it.ValueType == "CONTAINER" and name == "Measurement Group":
            g = {"numbers": {}}
            for c in it.ContentSequence:
                cname = c.ConceptNameCodeSequence[0].CodeMeaning
                if c.ValueType == "TEXT" and cname == "Tracking Identifier":
                    g["tracking_identifier"] = c.TextValue
                elif c.ValueType == "NUM":
                    mv = c.MeasuredValueSequence[0]
                    g["numbers"][cname] = [float(mv.NumericValue), mv.MeasurementUnitsCodeSequence[0].CodeValue]
                elif c.ValueType == "CODE" and cname == "Pathology":
                    g["pathology"] = c.ConceptCodeSequence[0].CodeMeaning
            acc.append(g)
        elif "ContentSequence" in it:
            groups(it.ContentSequence, acc)
    return acc


out["sr_groups"] = groups(sr.ContentSequence, [])
pr_path = os.path.join(d, "pr.dcm")
if os.path.exists(pr_path):
    pr = pydicom.dcmread(pr_path)
    out["pr_sop_class"] = pr.SOPClassUID
    pts, texts = [], []
    for layer in pr.GraphicAnnotationSequence:
        for g in getattr(layer, "GraphicObjectSequence", []):
            pts.append([float(v) for v in g.GraphicData])
        for t in getattr(layer, "TextObjectSequence", []):
            texts.append(t.UnformattedTextValue)
    out["pr_polylines"] = pts
    out["pr_texts"] = texts
print(json.dumps(out))
