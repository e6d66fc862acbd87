import DICOM
import Foundation

extension Reporter {
    /// The SR that tells the PACS the AI analysis of the DICOM file at `url` is unavailable and
    /// why; only the header is read (the pixels may be what failed). Its UIDs are deterministic
    /// like every derived object's, so a second answer for the same image replaces the first.
    public func unavailableReport(forFile url: URL, reason: String) throws -> (data: Data, sopInstanceUID: String) {
        let instance: DICOMInstance
        do { instance = try DICOMInstance.header(contentsOf: url) } catch {
            throw ReportingError.unreadableInput("\(url.lastPathComponent): \(error)")
        }
        let identity = DerivedIdentity(derivedFrom: instance.sopInstanceUID, producerVersion: producerVersion,
                                       kind: .unavailableReport, seriesNumber: DerivedObjectsBuilder.srSeriesNumber)
        do {
            let data = try UnavailableReportWriter.write(.init(
                source: instance, identity: identity, equipment: DerivedEquipment(softwareVersions: producerVersion),
                algorithm: AlgorithmIdentification(name: model.card.name, version: model.card.version), reason: reason))
            return (data, identity.sopInstanceUID)
        } catch let e as DerivedObjectError {
            throw ReportingError.writerFailed(e.description)
        }
    }
}
