import DICOM
import Foundation
import Gateway
import Inference
import Logging
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

extension ReportingProcessor {
    /// The "AI analysis unavailable" SR for an image that failed for good or was quarantined.
    func unavailableReport(_ instance: ReceivedInstance, reason: String) async throws -> [ProducedObject] {
        do {
            let (data, uid) = try reporter.unavailableReport(forFile: instance.spoolFile, reason: reason)
            return [ProducedObject(kind: .sr, fileName: "sr-unavailable.dcm", data: data, sopInstanceUID: uid)]
        } catch let e as ReportingError {
            throw e.isTransient ? ProcessingError.transient(e.description) : ProcessingError.permanent(e.description)
        }
    }
}

/// Builds the processor `wecare serve` hands each received instance to.
func makeInstanceProcessor(_ settings: AnalysisSettings) throws -> ReportingProcessor {
    // A job alone may use the threads of the idle workers too (on 2 cores a lone image's
    // results reached the PACS 61 instead of 96 ms after its C-STORE response, medians of 4
    // runs each); with every worker busy each keeps to its own.
    try CPUCheck.require()
    let budget = ThreadBudget(total: settings.workers * settings.threads)
    let model = try LesionModel(modelFile: settings.model, threadsPerSession: settings.threads,
                                sessions: settings.workers, thresholdOverride: settings.threshold, budget: budget)
    return ReportingProcessor(reporter: Reporter(model: model, validator: validator(settings)))
}

/// The checks DICOM inputs get before analysis parses them, with the configured size ceiling.
func validator(_ settings: AnalysisSettings) -> InstanceValidator {
    InstanceValidator(checks: ImageChecks(maxSamples: settings.maxImageSamples))
}

/// The analysis of `wecare serve`: `settings.workers` worker processes of this same executable
/// (`wecare worker`), each with its own model and `settings.threads` threads. Returns once every
/// worker has loaded the model; throws when they cannot (a broken model file).
func makeIsolatedProcessor(_ settings: AnalysisSettings, logLevel: String, logger: Logger) throws -> IsolatedProcessor {
    // Before the workers start, not in each of them; they inherit the environment, so they
    // choose the same kernel set.
    let kernels = try CPUCheck.require()
    logger.notice("inference kernels chosen", metadata: ["isa": "\(kernels.set.rawValue)", "convolutions": "\(kernels.convolutions.rawValue)", "blas_core": "\(kernels.blasCore)"])
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? CommandLine.arguments[0]
    var arguments = ["worker", "--model", settings.model.path, "--threads", "\(settings.threads)",
                     "--memory-mb", "\(settings.workerMemoryBytes >> 20)", "--log-level", logLevel]
    if let t = settings.threshold { arguments += ["--threshold", "\(t)"] }
    let pool = WorkerPool(size: settings.workers, launch: WorkerLaunch(executable: executable, arguments: arguments),
                          logger: logger)
    return try IsolatedProcessor(pool: pool, imageTimeoutSeconds: settings.imageTimeoutSeconds)
}
