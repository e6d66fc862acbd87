/// A coded concept: Code Value, Coding Scheme Designator, Code Meaning.
public struct CodedConcept: Hashable, Sendable {
    public var value: String
    public var scheme: String
    public var meaning: String
    public init(_ value: String, _ scheme: String, _ meaning: String) {
        self.value = value
        self.scheme = scheme
        self.meaning = meaning
    }
}

/// The codes the derived objects use (see shared/docs/dicom-notes.md).
///
/// Private coding scheme `99WECARE` (PS3.16 8.2: "99" prefix = private): there are no standard
/// codes for per-class classifier probabilities, so WeCare defines
///   P-NORMAL    "Probability of normal"     (NUM, unit %)
///   P-BENIGN    "Probability of benign"     (NUM, unit %)
///   P-MALIGNANT "Probability of malignant"  (NUM, unit %)
/// Each is the softmax output of WeCare's image classifier for that class, times 100.
public extension CodedConcept {
    // Segment
    static let morphologicallyAbnormalStructure = CodedConcept("49755003", "SCT", "Morphologically Abnormal Structure")
    static let mass = CodedConcept("4147007", "SCT", "Mass")
    static let breast = CodedConcept("76752008", "SCT", "Breast")
    static let right = CodedConcept("24028007", "SCT", "Right")
    static let left = CodedConcept("7771000", "SCT", "Left")
    static let artificialIntelligence = CodedConcept("123110", "DCM", "Artificial Intelligence")
    // Report structure
    static let imagingMeasurementReport = CodedConcept("126000", "DCM", "Imaging Measurement Report")
    static let languageOfContent = CodedConcept("121049", "DCM", "Language of Content Item and Descendants")
    static let englishUS = CodedConcept("en-US", "RFC5646", "English (United States)")
    static let observerType = CodedConcept("121005", "DCM", "Observer Type")
    static let device = CodedConcept("121007", "DCM", "Device")
    static let person = CodedConcept("121006", "DCM", "Person")
    static let personObserverName = CodedConcept("121008", "DCM", "Person Observer Name")
    static let deviceObserverUID = CodedConcept("121012", "DCM", "Device Observer UID")
    static let deviceObserverName = CodedConcept("121013", "DCM", "Device Observer Name")
    static let deviceObserverManufacturer = CodedConcept("121014", "DCM", "Device Observer Manufacturer")
    static let deviceObserverModelName = CodedConcept("121015", "DCM", "Device Observer Model Name")
    static let procedureReported = CodedConcept("121058", "DCM", "Procedure reported")
    static let ultrasonographyOfBreast = CodedConcept("47079000", "SCT", "Ultrasonography of breast")
    static let imageLibrary = CodedConcept("111028", "DCM", "Image Library")
    static let imageLibraryGroup = CodedConcept("126200", "DCM", "Image Library Group")
    static let imagingMeasurements = CodedConcept("126010", "DCM", "Imaging Measurements")
    static let measurementGroup = CodedConcept("125007", "DCM", "Measurement Group")
    static let trackingIdentifier = CodedConcept("112039", "DCM", "Tracking Identifier")
    static let trackingUniqueIdentifier = CodedConcept("112040", "DCM", "Tracking Unique Identifier")
    static let finding = CodedConcept("121071", "DCM", "Finding")
    static let findingSite = CodedConcept("363698007", "SCT", "Finding Site")
    static let laterality = CodedConcept("272741003", "SCT", "Laterality")
    static let imageRegion = CodedConcept("111030", "DCM", "Image Region")
    static let referencedSegmentationFrame = CodedConcept("121214", "DCM", "Referenced Segmentation Frame")
    static let sourceImageForSegmentation = CodedConcept("121233", "DCM", "Source image for segmentation")
    static let algorithmName = CodedConcept("111001", "DCM", "Algorithm Name")
    static let algorithmVersion = CodedConcept("111003", "DCM", "Algorithm Version")
    // Measurements and findings
    static let area = CodedConcept("42798000", "SCT", "Area")
    static let longAxis = CodedConcept("103339001", "SCT", "Long axis")
    static let shortAxis = CodedConcept("103340004", "SCT", "Short axis")
    static let probabilityOfCancer = CodedConcept("111047", "DCM", "Probability of cancer")
    static let pathology = CodedConcept("111042", "DCM", "Pathology")
    static let benign = CodedConcept("30807003", "SCT", "Benign")
    static let malignant = CodedConcept("21594007", "SCT", "Malignant")
    static let normal = CodedConcept("17621005", "SCT", "Normal")
    static let ultrasoundScanNormal = CodedConcept("169254007", "SCT", "Ultrasound scan normal")
    static let qualitativeEvaluations = CodedConcept("C0034375", "UMLS", "Qualitative Evaluations")
    static let comment = CodedConcept("121106", "DCM", "Comment")
    // Private scheme 99WECARE (documented above; declared in the SR's Coding Scheme Identification)
    static let privateSchemeDesignator = "99WECARE"
    static let privateSchemeName = "WeCare AI private codes"
    static let probabilityOfNormal = CodedConcept("P-NORMAL", privateSchemeDesignator, "Probability of normal")
    static let probabilityOfBenign = CodedConcept("P-BENIGN", privateSchemeDesignator, "Probability of benign")
    static let probabilityOfMalignant = CodedConcept("P-MALIGNANT", privateSchemeDesignator, "Probability of malignant")
    // UCUM units. Uncalibrated images (no Sequence of Ultrasound Regions in cm) are measured in
    // pixels: UCUM has no pixel unit, so the dimensionless unit 1 with an annotation is used.
    static let millimetre = CodedConcept("mm", "UCUM", "millimeter")
    static let squareMillimetre = CodedConcept("mm2", "UCUM", "square millimeter")
    static let percent = CodedConcept("%", "UCUM", "percent")
    static let pixel = CodedConcept("{pixels}", "UCUM", "pixels")
    static let squarePixel = CodedConcept("{square pixels}", "UCUM", "square pixels")
}
