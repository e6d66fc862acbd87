import CDCMTK

extension Toolkit {
    /// Registers DCMTK's JPEG, JPEG-LS and RLE decoders once per process (thread-safe).
    /// `DICOMInstance` does this itself; call it before decoding through DCMTK another way.
    public static func initialize() { wc_codecs_register() }
}
