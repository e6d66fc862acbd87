import DICOM
import Foundation
import Gateway
import Inference
import Reporting

/// The analysis behind `wecare serve`: each spooled instance goes through the Reporting pipeline
/// (model -> lesions -> SEG/SR/PR/SVG/result.json) and comes back as objects to deliver.
struct ReportingProcessor: InstanceProcessor {
    let reporter: Reporter

    var producerVersion: String { reporter.producerVersion }

    /// The documents (result.json, SVG) are made only when some destination takes them.
    func process(_ instance: ReceivedInstance, making kinds: Set<OutputKind>) async throws -> [ProducedObject] {
        var objects: [ProducedObject] = []
        let derived: DerivedObjects?
        do {
            let report: ImageReport
            (report, derived) = try reporter.asOneJob { try reporter.derivedObjects(forFile: instance.spoolFile) }
            if kinds.contains(.json) {
                objects.append(ProducedObject(kind: .json, fileName: "result.json", data: try report.resultDocument().encoded()))
            }
            if kinds.contains(.svg) {
                objects.append(ProducedObject(kind: .svg, fileName: "lesion.svg", data: Data(report.svg().utf8)))
            }
        } catch let e as ReportingError {
            throw e.isTransient ? ProcessingError.transient(e.description) : ProcessingError.permanent(e.description)
        }
        if let d = derived {
            if let seg = d.segmentation {
                objects.append(ProducedObject(kind: .seg, fileName: "seg.dcm", data: seg, sopInstanceUID: d.segmentationUID))
            }
            objects.append(ProducedObject(kind: .sr, fileName: "sr.dcm", data: d.report, sopInstanceUID: d.reportUID))
            if let pr = d.presentationState {
                objects.append(ProducedObject(kind: .pr, fileName: "pr.dcm", data: pr, sopInstanceUID: d.presentationStateUID))
            }
        }
        return objects
    }
}

/// Builds the processor `wecare serve` hands each received instance to.
func makeInstanceProcessor(_ settings: AnalysisSettings) throws -> ReportingProcessor {
    // A job alone may use the threads of the idle workers too (on 2 cores a lone image's
    // results reached the PACS 61 instead of 96 ms after its C-STORE response, medians of 4
    // runs each); with every worker busy each keeps to its own.
    let budget = ThreadBudget(total: settings.workers * settings.threads)
    let model = try LesionModel(modelFile: settings.model, threadsPerSession: settings.threads,
                                sessions: settings.workers, thresholdOverride: settings.threshold, budget: budget)
    return ReportingProcessor(reporter: Reporter(model: model, validator: validator(settings)))
}

/// The checks DICOM inputs get before analysis parses them, with the configured size ceiling.
func validator(_ settings: AnalysisSettings) -> InstanceValidator {
    InstanceValidator(checks: ImageChecks(maxSamples: settings.maxImageSamples))
}
