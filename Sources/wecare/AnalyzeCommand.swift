import ArgumentParser
import DICOM
import Foundation
import Gateway
import Reporting

struct AnalyzeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Analyse DICOM or PNG files: writes DIR/<input stem>/ with result.json, mask.png, lesion.svg "
            + "and, for DICOM input, seg.dcm, sr.dcm, pr.dcm.")

    @Argument(help: "DICOM or PNG files.")
    var inputs: [String]

    @Option(name: .long, help: "Output folder.")
    var out: String

    @Option(name: .long, help: "Take the model and threads from this configuration's [analysis].")
    var config: String?

    @Option(name: .long, help: "The ONNX model, its .json model card beside it (default: weights/busi_unet.onnx here, else the one shipped with this build).")
    var model: String?

    @Option(name: .long, help: "Inference threads.")
    var threads: Int = 1

    /// `weights/busi_unet.onnx` from the current folder, else from the checkout this binary was
    /// built in (a few folders above `.build/.../wecare`), so `analyze` works from any folder.
    static func shippedModel() -> URL {
        let relative = "weights/busi_unet.onnx"
        let here = URL(fileURLWithPath: relative)
        if FileManager.default.fileExists(atPath: here.path) { return here }
        var folder = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).deletingLastPathComponent()
        for _ in 0..<5 {
            folder = folder.deletingLastPathComponent()
            let candidate = folder.appendingPathComponent(relative)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        }
        return here
    }

    func run() async throws {
        var modelURL = model.map { URL(fileURLWithPath: $0) } ?? Self.shippedModel()
        var threadCount = threads
        var checks = InstanceValidator()
        if let config {
            let configuration = try ConfigurationLoader.load(URL(fileURLWithPath: config))
            modelURL = configuration.analysis.model
            threadCount = configuration.analysis.threads
            checks = validator(configuration.analysis)
        }
        try CPUCheck.require()
        let reporter = Reporter(model: try LesionModel(modelFile: modelURL, threadsPerSession: threadCount), validator: checks)
        let outDir = URL(fileURLWithPath: out)
        var failures = 0
        for input in inputs {
            let url = URL(fileURLWithPath: input)
            do {
                let outputs = try reporter.outputs(forFile: url)
                let dir = outDir.appendingPathComponent(url.deletingPathExtension().lastPathComponent)
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                for file in try outputs.files() { try file.data.write(to: dir.appendingPathComponent(file.name), options: .atomic) }
                let r = outputs.report.resultDocument()
                print("\(input): \(r.label) \(String(format: "%.2f", r.probabilities[r.label] ?? 0)), \(r.lesions.count) lesion(s) -> \(dir.path)")
            } catch {
                failures += 1
                FileHandle.standardError.write(Data("\(input): \(error)\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
