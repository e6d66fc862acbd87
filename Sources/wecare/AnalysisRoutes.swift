import Foundation
import Gateway
import Hummingbird
import NIOCore
import Reporting

/// The analysis over HTTP, as the original model server offered it, for non-DICOM clients:
/// `POST /api/v1/predict` (PNG or DICOM body) -> lesion outlines as SVG paths and the mask as PNG;
/// `POST /api/v1/classify` -> class probabilities. JSON in both cases; errors are JSON too.
///
/// The body is streamed to a scratch file (never held whole in memory) and analysed by one of
/// the gateway's worker processes, like a received image: a body that crashes or hangs the
/// analysis gets 422, never a dead gateway. Past `maxWaiting` requests waiting for a worker
/// the answer is 503 with Retry-After, before the body is read.
enum AnalysisRoutes {
    /// Bodies above this are refused with 413 (a 1024x768 RGB cine of 120 frames is ~280 MB; those
    /// belong on the DICOM port, not here).
    static let maxBodyBytes = 64 << 20
    static let routes = ["predict", "classify"]

    /// `scratch`: where a body is kept while it is analysed (the spool's `tmp/`).
    static func installer(_ pool: WorkerPool, timeout: Double, maxWaiting: Int, scratch: URL) -> RouteInstaller {
        { router in
            for route in routes {
                router.post("/api/v1/\(route)") { request, _ in
                    await respond(request, route: route, pool: pool, timeout: timeout, maxWaiting: maxWaiting, scratch: scratch)
                }
            }
        }
    }

    private static func respond(_ request: Request, route: String, pool: WorkerPool, timeout: Double, maxWaiting: Int,
                                scratch: URL) async -> Response {
        // Refused before the body is read: a client that cannot be served costs nothing.
        guard pool.waitingCount < maxWaiting else {
            return json(.serviceUnavailable, ["error": "every analysis worker is busy; retry later"], retryAfter: 5)
        }
        let file = scratch.appendingPathComponent("http-\(UUID().uuidString).part")
        defer { try? FileManager.default.removeItem(at: file) }
        switch await BodyFile.write(request.body, to: file, limit: maxBodyBytes) {
        case .tooLarge:
            return json(.contentTooLarge, ["error": "body larger than \(maxBodyBytes >> 20) MB"])
        case .failed(let why):
            return json(.internalServerError, ["error": "cannot keep the body: \(why)"])
        case .written(let bytes, let head):
            guard bytes > 0 else { return json(.badRequest, ["error": "empty body: send a PNG or a DICOM Part 10 file"]) }
            guard InputKind.sniff(head) != nil else {
                return json(.unsupportedMediaType, ["error": "body is neither a PNG nor a DICOM Part 10 file (with its 'DICM' preamble)"])
            }
        }
        do {
            switch try await pool.call(.http(route: route, file: file), timeout: timeout, maxWaiting: maxWaiting) {
            case .http(let status, let body):
                return Response(status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(bytes: body)))
            default:
                return json(.internalServerError, ["error": "the analysis worker answered out of turn"])
            }
        } catch let failure as WorkerFailure {
            switch failure {
            case .died, .timedOut:
                return json(.unprocessableContent, ["error": "this input cannot be analysed: \(failure)"])
            case .busy:
                return json(.serviceUnavailable, ["error": "every analysis worker is busy; retry later"], retryAfter: 5)
            case .cannotStart, .stopped:
                return json(.serviceUnavailable, ["error": "\(failure)"], retryAfter: 30)
            }
        } catch {
            return json(.internalServerError, ["error": "\(error)"])
        }
    }

    /// In the worker: analyses `file` and renders the route's JSON; returns status and body.
    static func render(route: String, file: URL, reporter: Reporter) -> (Int, Data) {
        do {
            let (report, _) = try reporter.asOneJob { try reporter.analyzeFile(file) }
            let doc = report.resultDocument()
            var out: [String: Any]
            if route == "classify" {
                out = ["label": doc.label, "probabilities": doc.probabilities, "frame": doc.frame,
                       "model": ["name": doc.model.name, "version": doc.model.version]]
            } else {
                out = try JSONSerialization.jsonObject(with: doc.encoded()) as? [String: Any] ?? [:]
                out["svg"] = report.svg()
                out["mask_png"] = try report.maskPNG().base64EncodedString()
            }
            out["source"] = "request body"
            return (200, encode(out))
        } catch let e as ReportingError {
            return (e.isTransient ? 503 : 422, encode(["error": e.description]))
        } catch {
            return (500, encode(["error": "\(error)"]))
        }
    }

    private static func encode(_ object: [String: Any]) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    private static func json(_ status: HTTPResponse.Status, _ object: [String: Any], retryAfter: Int? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = "\(retryAfter)" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: encode(object))))
    }
}

/// A request body streamed to a file, chunk by chunk, up to a limit.
enum BodyFile {
    enum Outcome {
        /// `head`: the first bytes, for sniffing the format.
        case written(bytes: Int, head: Data)
        case tooLarge
        case failed(String)
    }

    static func write(_ body: RequestBody, to url: URL, limit: Int) async -> Outcome {
        guard FileManager.default.createFile(atPath: url.path, contents: nil),
              let handle = try? FileHandle(forWritingTo: url) else { return .failed("cannot create \(url.lastPathComponent)") }
        defer { try? handle.close() }
        var total = 0
        var head = Data()
        do {
            for try await chunk in body {
                total += chunk.readableBytes
                if total > limit { return .tooLarge }
                let data = Data(chunk.readableBytesView)
                if head.count < 132 { head.append(data.prefix(132 - head.count)) }
                try handle.write(contentsOf: data)
            }
        } catch {
            return .failed("\(error)")
        }
        return .written(bytes: total, head: head)
    }
}
