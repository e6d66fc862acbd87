import Foundation

/// The checks every file gets before DCMTK parses or decodes it: `DatasetScanner` for the
/// structure, then `ImageChecks` on what it found. The receive path and `DICOMInstance` use
/// the same one, so an image refused over DICOM is refused over HTTP and by `wecare analyze`.
public struct InstanceValidator: Sendable {
    public var scanner: DatasetScanner
    /// nil: the structure only (for derived objects, whose pixels are no ultrasound image).
    public var checks: ImageChecks?

    public init(scanner: DatasetScanner = DatasetScanner(), checks: ImageChecks? = .default) {
        self.scanner = scanner
        self.checks = checks
    }

    /// Structure only: for reading derived objects (a SEG has 1-bit pixels and its own SOP
    /// class), never for analysis input.
    public static let structureOnly = InstanceValidator(checks: nil)

    /// Both outcomes, kept apart: a dataset whose structure is sound has UIDs even when its
    /// image checks fail, and the two are answered with different statuses.
    public struct Inspection: Sendable {
        public var scan: Result<DatasetScan, DatasetScanError>
        /// nil when the checks passed, or did not run because the structure was refused.
        public var imageFailure: ImageCheckFailure?

        public init(scan: Result<DatasetScan, DatasetScanError>, imageFailure: ImageCheckFailure? = nil) {
            self.scan = scan
            self.imageFailure = imageFailure
        }
    }

    public func inspect(file url: URL) -> Inspection {
        let scanned: (scan: DatasetScan, bytes: ByteSource)
        do throws(DatasetScanError) { scanned = try scanner.scanWithBytes(FileBytes(url: url)) } catch {
            return Inspection(scan: .failure(error))
        }
        guard let checks else { return Inspection(scan: .success(scanned.scan)) }
        do throws(ImageCheckFailure) {
            try checks.check(scanned.scan, bytes: scanned.bytes)
            return Inspection(scan: .success(scanned.scan))
        } catch {
            return Inspection(scan: .success(scanned.scan), imageFailure: error)
        }
    }

    /// The scan of a file that passed every check.
    public func validate(file url: URL) throws(InstanceValidationError) -> DatasetScan {
        let inspection = inspect(file: url)
        switch inspection.scan {
        case .failure(let error): throw .structure(error)
        case .success(let scan):
            if let failure = inspection.imageFailure { throw .image(failure) }
            return scan
        }
    }
}

/// Why `InstanceValidator` refused a file.
public enum InstanceValidationError: Error, Equatable, CustomStringConvertible, Sendable {
    case structure(DatasetScanError)
    case image(ImageCheckFailure)

    public var label: String {
        switch self {
        case .structure(let e): return e.label
        case .image(let e): return e.label
        }
    }

    public var description: String {
        switch self {
        case .structure(let e): return e.description
        case .image(let e): return e.description
        }
    }
}
