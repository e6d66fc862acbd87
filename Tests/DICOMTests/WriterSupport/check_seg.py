#!/usr/bin/env python3
"""Reads a SEG back with highdicom and compares it pixel by pixel with the masks given.

usage: check_seg.py SOURCE.dcm SEG.dcm MASKFILE FRAME[,FRAME...]
MASKFILE holds one rows*columns uint8 mask per listed source frame (1-based). Prints JSON.
"""
import json, sys
import numpy as np
import highdicom as hd
import pydicom


PATIENT_STUDY = ("SpecificCharacterSet", "PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                 "StudyInstanceUID", "StudyDate", "StudyTime", "AccessionNumber", "StudyID")


def same_patient_study(derived, source_path):
    """Names of Patient/Study attributes whose values differ from the source's."""
    src = pydicom.dcmread(source_path, stop_before_pixels=True)
    return [k for k in PATIENT_STUDY if str(derived.get(k, "")) != str(src.get(k, ""))]


def main():
    src_path, seg_path, mask_path, frames = sys.argv[1], sys.argv[2], sys.argv[3], [int(f) for f in sys.argv[4].split(",")]
    src = pydicom.dcmread(src_path)
    seg = hd.seg.segread(seg_path)
    masks = np.fromfile(mask_path, dtype=np.uint8).reshape(len(frames), src.Rows, src.Columns) > 0
    multi = int(getattr(src, "NumberOfFrames", 1)) > 1
    result = {"number_of_frames": int(seg.NumberOfFrames), "segments": len(seg.SegmentSequence)}
    if multi:
        # Every source frame: frames not in the SEG must read back empty.
        pix = seg.get_pixels_by_source_frame(src.SOPInstanceUID, source_frame_numbers=list(range(1, int(src.NumberOfFrames) + 1)),
                                             segment_numbers=[1], combine_segments=False, assert_missing_frames_are_empty=True)
        pix = pix[..., 0]
        expected = np.zeros((int(src.NumberOfFrames), src.Rows, src.Columns), dtype=bool)
        for f, m in zip(frames, masks):
            expected[f - 1] = m
    else:
        pix = seg.get_pixels_by_source_instance([src.SOPInstanceUID], segment_numbers=[1], combine_segments=False)[..., 0]
        expected = masks[:1]
    result["shape"] = list(pix.shape)
    result["mismatched_pixels"] = int(np.count_nonzero((pix > 0) != expected))
    result["lesion_pixels"] = int(np.count_nonzero(pix))
    s = seg.SegmentSequence[0]
    result["segment_label"] = s.SegmentLabel
    result["category"] = s.SegmentedPropertyCategoryCodeSequence[0].CodeValue
    result["type"] = s.SegmentedPropertyTypeCodeSequence[0].CodeValue
    result["algorithm_type"] = s.SegmentAlgorithmType
    result["algorithm_family"] = s.SegmentationAlgorithmIdentificationSequence[0].AlgorithmFamilyCodeSequence[0].CodeValue
    result["anatomy"] = s.AnatomicRegionSequence[0].CodeValue if "AnatomicRegionSequence" in s else None
    region = s.AnatomicRegionSequence[0] if "AnatomicRegionSequence" in s else None
    result["laterality_modifier"] = (region.AnatomicRegionModifierSequence[0].CodeValue
                                     if region is not None and "AnatomicRegionModifierSequence" in region else None)
    result["lossy"] = seg.get("LossyImageCompression")
    result["lossy_ratio"] = str(seg.get("LossyImageCompressionRatio", ""))
    result["lossy_method"] = str(seg.get("LossyImageCompressionMethod", ""))
    result["laterality"] = seg.get("Laterality")
    result["study_uid_matches"] = seg.StudyInstanceUID == src.StudyInstanceUID
    result["patient_id_matches"] = seg.PatientID == src.PatientID
    result["series_differs"] = seg.SeriesInstanceUID != src.SeriesInstanceUID
    result["manufacturer"] = seg.Manufacturer
    result["patient_study_differs"] = same_patient_study(seg, src_path)
    result["segments_overlap"] = seg.get("SegmentsOverlap")
    result["has_frame_of_reference"] = "FrameOfReferenceUID" in seg
    ref_frames = []
    for item in seg.PerFrameFunctionalGroupsSequence:
        si = item.DerivationImageSequence[0].SourceImageSequence[0]
        assert si.SpatialLocationsPreserved == "YES"
        ref_frames.append(int(si.ReferencedFrameNumber) if "ReferencedFrameNumber" in si else None)
    result["referenced_frames"] = ref_frames
    shared = seg.SharedFunctionalGroupsSequence[0]
    result["plane_orientation"] = ([float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient]
                                   if "PlaneOrientationSequence" in shared else None)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
