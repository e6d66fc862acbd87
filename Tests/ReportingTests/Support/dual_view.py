"""Dual-view ultrasound inputs for the Reporting tests, written with pydicom (an independent writer).

  dual_view.py compose LEFT.png RIGHT.png OUT.dcm DELTA_LEFT_CM DELTA_RIGHT_CM
      Two BUSI images side by side on a black canvas (text band above, gap between), each its
      own calibrated 2D tissue region (Region Spatial Format 1, Data Type 1, cm), in that order.
      Prints the regions' bounds as JSON.
  dual_view.py recalibrate NAME OUT.dcm ITEM DELTA_CM
      pydicom-data's file NAME with item ITEM (1-based) of its Sequence of Ultrasound Regions
      given Physical Delta X/Y = DELTA_CM.
"""
import json
import sys

import numpy as np
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
import pydicom


def region(x0, y0, x1, y1, delta):
    r = Dataset()
    r.RegionSpatialFormat = 1
    r.RegionDataType = 1
    r.RegionFlags = 0
    r.RegionLocationMinX0, r.RegionLocationMinY0, r.RegionLocationMaxX1, r.RegionLocationMaxY1 = x0, y0, x1, y1
    r.PhysicalUnitsXDirection = 3
    r.PhysicalUnitsYDirection = 3
    r.PhysicalDeltaX = delta
    r.PhysicalDeltaY = delta
    return r


def compose(left, right, out, delta_left, delta_right):
    a = np.asarray(Image.open(left).convert("L"), dtype=np.uint8)
    b = np.asarray(Image.open(right).convert("L"), dtype=np.uint8)
    top, side, gap = 30, 10, 12
    rows = top + max(a.shape[0], b.shape[0]) + 10
    cols = side + a.shape[1] + gap + b.shape[1] + side
    img = np.zeros((rows, cols), dtype=np.uint8)
    img[5:15, 10:200] = 255  # burned-in text band, outside both regions
    ax, bx = side, side + a.shape[1] + gap
    img[top:top + a.shape[0], ax:ax + a.shape[1]] = a
    img[top:top + b.shape[0], bx:bx + b.shape[1]] = b
    bounds = [[ax, top, ax + a.shape[1] - 1, top + a.shape[0] - 1], [bx, top, bx + b.shape[1] - 1, top + b.shape[0] - 1]]

    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.6.1"
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "Test^Dual", "TEST002", "", "F"
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber, ds.ReferringPhysicianName = "20261206", "101010", "", ""
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "1", 1, 1
    ds.Modality, ds.Manufacturer, ds.Laterality, ds.PatientOrientation = "US", "Test", "R", ""
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = img.tobytes()
    ds.SequenceOfUltrasoundRegions = [region(*bounds[0], delta_left), region(*bounds[1], delta_right)]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.save_as(out, enforce_file_format=True)
    print(json.dumps({"regions": bounds}))


def recalibrate(name, out, item, delta):
    path = get_testdata_file(name)
    ds = pydicom.dcmread(path)
    r = ds.SequenceOfUltrasoundRegions[item - 1]
    r.PhysicalDeltaX = delta
    r.PhysicalDeltaY = delta
    ds.save_as(out)
    print(json.dumps({"source": path}))


if __name__ == "__main__":
    if sys.argv[1] == "compose":
        compose(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), float(sys.argv[6]))
    elif sys.argv[1] == "recalibrate":
        recalibrate(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    else:
        sys.exit(f"unknown mode {sys.argv[1]}")
