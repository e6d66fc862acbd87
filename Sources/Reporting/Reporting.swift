import DICOM
import Inference
import Analysis

/// One image in, every result out (issue 4). Placeholder until reporting lands.
public enum Reporting {}
