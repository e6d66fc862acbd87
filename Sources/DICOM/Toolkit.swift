import CDCMTK

/// The DICOM toolkit underneath (DCMTK), for logs and `--version`.
public enum Toolkit {
    public static var version: String { String(cString: wc_dcmtk_version()) }
}
