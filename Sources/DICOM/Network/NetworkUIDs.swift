/// UIDs the network layer names (PS3.6 Annex A); namespaced to leave plain names to other parts of the module.
public enum NetworkUID {
    public enum TransferSyntax {
        public static let implicitVRLittleEndian = "1.2.840.10008.1.2"
        public static let explicitVRLittleEndian = "1.2.840.10008.1.2.1"
        public static let jpegBaseline = "1.2.840.10008.1.2.4.50"
        public static let jpegExtended = "1.2.840.10008.1.2.4.51"
        public static let jpegLosslessSV1 = "1.2.840.10008.1.2.4.70"
        public static let jpegLSLossless = "1.2.840.10008.1.2.4.80"
        public static let jpegLSNearLossless = "1.2.840.10008.1.2.4.81"
        public static let rle = "1.2.840.10008.1.2.5"
    }

    public enum SOPClass {
        public static let verification = "1.2.840.10008.1.1"
        public static let ultrasoundImageStorage = "1.2.840.10008.5.1.4.1.1.6.1"
        public static let ultrasoundMultiFrameImageStorage = "1.2.840.10008.5.1.4.1.1.3.1"
    }
}
