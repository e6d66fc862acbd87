"""Makes ultrasound DICOM test inputs from a BUSI PNG with pydicom (an independent writer):
US Image Storage, MONOCHROME2 or RGB, optional Sequence of Ultrasound Regions, optional multi-frame.
Usage: make_us_dicom.py PNG OUT.dcm [--rgb] [--frames N] [--region X0 Y0 X1 Y1 DELTA_CM] [--pad PX]"""
import argparse

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

p = argparse.ArgumentParser()
p.add_argument("png")
p.add_argument("out")
p.add_argument("--rgb", action="store_true")
p.add_argument("--frames", type=int, default=1)
p.add_argument("--region", nargs=5, type=float)
p.add_argument("--pad", type=int, default=0, help="black border (burned-in text area) around the image")
a = p.parse_args()

img = np.asarray(Image.open(a.png).convert("L"), dtype=np.uint8)
if a.pad:
    img = np.pad(img, a.pad)
    img[: a.pad // 2, : a.pad * 3] = 255  # a bright 'annotation' outside the tissue region
rows, cols = img.shape
frames = [img if k == 0 else np.roll(img, 4 * k, axis=1) for k in range(a.frames)]

ds = Dataset()
multi = a.frames > 1
ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.3.1" if multi else "1.2.840.10008.5.1.4.1.1.6.1"
ds.SOPInstanceUID = generate_uid()
ds.StudyInstanceUID = generate_uid()
ds.SeriesInstanceUID = generate_uid()
ds.PatientName = "Test^Patient"
ds.PatientID = "TEST001"
ds.PatientBirthDate = ""
ds.PatientSex = "F"
ds.StudyDate = "20261126"
ds.StudyTime = "101010"
ds.AccessionNumber = ""
ds.ReferringPhysicianName = ""
ds.StudyID = "1"
ds.SeriesNumber = 1
ds.InstanceNumber = 1
ds.Modality = "US"
ds.Manufacturer = "Test"
ds.Laterality = "L"
ds.PatientOrientation = ""
ds.ImageType = ["ORIGINAL", "PRIMARY"]
ds.Rows, ds.Columns = rows, cols
ds.BitsAllocated = 8
ds.BitsStored = 8
ds.HighBit = 7
ds.PixelRepresentation = 0
if a.rgb:
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    data = np.stack([np.stack([f, f, f], -1) for f in frames])
else:
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    data = np.stack(frames)
if multi:
    ds.NumberOfFrames = a.frames
    ds.FrameTime = 33.3
    ds.FrameIncrementPointer = (0x0018, 0x1063)
ds.PixelData = data.tobytes()
if a.region:
    x0, y0, x1, y1, delta = a.region
    r = Dataset()
    r.RegionSpatialFormat = 1
    r.RegionDataType = 1
    r.RegionFlags = 0
    r.RegionLocationMinX0, r.RegionLocationMinY0 = int(x0), int(y0)
    r.RegionLocationMaxX1, r.RegionLocationMaxY1 = int(x1), int(y1)
    r.PhysicalUnitsXDirection = 3
    r.PhysicalUnitsYDirection = 3
    r.PhysicalDeltaX = delta
    r.PhysicalDeltaY = delta
    ds.SequenceOfUltrasoundRegions = [r]
meta = FileMetaDataset()
meta.MediaStorageSOPClassUID = ds.SOPClassUID
meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds.file_meta = meta
ds.save_as(a.out, enforce_file_format=True)
