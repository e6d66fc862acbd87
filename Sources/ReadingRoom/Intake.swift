import DICOM
import Foundation
import Gateway
import Logging

/// Keeps what the analysis found for each image, for review: the AI's result.json, its class
/// and probability, the UIDs of its SR (the predecessor of a signed one), and the patient's
/// name, ID and study date for the worklist (shown on these pages only, never logged).
enum Intake {
    static func record(job: Int64, instance: ReceivedInstance, produced: [ProducedObject], service: GatewayService, logger: Logger) {
        guard let json = produced.first(where: { $0.kind == .json })?.data,
              let ledger = service.ledger as? ReviewLedger, let producer = service.producerVersion else { return }
        let doc = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] ?? [:]
        let label = doc["label"] as? String
        let probability = label.flatMap { number((doc["probabilities"] as? [String: Any])?[$0]) }
        var name: String?, patientID: String?, studyDate: String?
        if let header = try? DICOMInstance.header(contentsOf: instance.spoolFile) {
            name = header.attribute(0x0010_0010)
            patientID = header.attribute(0x0010_0020)
            studyDate = header.attribute(0x0008_0020)
        }
        let sr = produced.first { $0.kind == .sr }?.sopInstanceUID
            ?? DerivedUID.make(sourceSOPInstanceUID: instance.sopInstanceUID, producerVersion: producer, role: DerivedUID.Role.reportInstance)
        let series = DerivedUID.make(sourceSOPInstanceUID: instance.sopInstanceUID, producerVersion: producer,
                                     role: DerivedUID.Role.reportSeries)
        do {
            try ledger.recordReviewItem(NewReviewItem(jobID: job, patientName: name, patientID: patientID, studyDate: studyDate,
                                                      label: label, probability: probability, result: json, aiReportUID: sr,
                                                      aiReportSeriesUID: series, producerVersion: producer), now: Date())
        } catch {
            logger.error("cannot keep the analysis for the reading room; the image is delivered but not listed for review",
                         metadata: ["job": "\(job)", "error": "\(error)"])
        }
    }
}
