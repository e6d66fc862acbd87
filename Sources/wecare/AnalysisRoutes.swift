import Foundation
import Gateway
import Hummingbird
import NIOCore
import Reporting

/// The analysis over HTTP, as the original model server offered it, for non-DICOM clients:
/// `POST /api/v1/predict` (PNG or DICOM body) -> lesion outlines as SVG paths and the mask as PNG;
/// `POST /api/v1/classify` -> class probabilities. JSON in both cases; errors are JSON too.
enum AnalysisRoutes {
    /// Bodies above this are refused with 413 (a 1024x768 RGB cine of 120 frames is ~280 MB; those
    /// belong on the DICOM port, not here).
    static let maxBodyBytes = 64 << 20

    /// `scratch`: where a body is kept while it is analysed (the spool's `tmp/`).
    static func installer(_ reporter: Reporter, scratch: URL) -> RouteInstaller {
        { router in
            router.post("/api/v1/predict") { request, _ in
                await respond(request, reporter, scratch) { report in
                    let doc = report.resultDocument()
                    var json = try JSONSerialization.jsonObject(with: doc.encoded()) as? [String: Any] ?? [:]
                    json["svg"] = report.svg()
                    json["mask_png"] = try report.maskPNG().base64EncodedString()
                    return json
                }
            }
            router.post("/api/v1/classify") { request, _ in
                await respond(request, reporter, scratch) { report in
                    let doc = report.resultDocument()
                    return ["source": doc.source, "label": doc.label, "probabilities": doc.probabilities,
                            "frame": doc.frame, "model": ["name": doc.model.name, "version": doc.model.version]]
                }
            }
        }
    }

    private static func respond(_ request: Request, _ reporter: Reporter, _ scratch: URL,
                                _ render: @escaping @Sendable (ImageReport) throws -> [String: Any]) async -> Response {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            return json(.contentTooLarge, ["error": "body larger than \(maxBodyBytes >> 20) MB"])
        }
        guard body.readableBytes > 0 else {
            return json(.badRequest, ["error": "empty body: send a PNG or a DICOM Part 10 file"])
        }
        let data = Data(body.readableBytesView)
        guard InputKind.sniff(data) != nil else {
            return json(.unsupportedMediaType, ["error": "body is neither a PNG nor a DICOM Part 10 file (with its 'DICM' preamble)"])
        }
        // CPU-bound work goes to a dispatch queue, off the server's cooperative threads.
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let tmp = scratch.appendingPathComponent("http-\(UUID().uuidString).part")
                defer { try? FileManager.default.removeItem(at: tmp) }
                do {
                    try data.write(to: tmp)
                    let (report, _) = try reporter.asOneJob { try reporter.analyzeFile(tmp) }
                    var out = try render(report)
                    out["source"] = "request body"
                    continuation.resume(returning: json(.ok, out))
                } catch let e as ReportingError {
                    let status: HTTPResponse.Status = e.isTransient ? .serviceUnavailable : .unprocessableContent
                    continuation.resume(returning: json(status, ["error": e.description]))
                } catch {
                    continuation.resume(returning: json(.internalServerError, ["error": "\(error)"]))
                }
            }
        }
    }

    private static func json(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
