import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import NIOCore

/// Guards every route of the HTTP port while the reading room is on: without a valid session a
/// page redirects to the login page and anything else answers 401; a change (any method but GET
/// and HEAD) must carry the session's CSRF token in `X-CSRF-Token`, else 403. The pages that
/// carry no patient data stay public: the self-exam page, the login page and their static files,
/// and the monitoring endpoints.
struct SessionGuard<Context: RequestContext>: RouterMiddleware {
    let room: ReadingRoomCore

    static func isPublic(_ path: String, method: HTTPRequest.Method) -> Bool {
        switch path {
        case "/healthz", "/readyz", "/metrics", "/login", "/self-exam", "/favicon.ico": return true
        case "/api/v1/login": return method == .post
        default: return path.hasPrefix("/static/")
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if Self.isPublic(path, method: request.method) { return try await next(request, context) }
        guard let session = room.session(of: request) else {
            if request.method == .get && !path.hasPrefix("/api/") {
                let target = path == "/" ? "/login" : "/login?next=" + (path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
                return Response(status: .seeOther, headers: [.location: target, .cacheControl: "no-store"])
            }
            return HTTPReply.json(.unauthorized, ["error": "log in first: no valid session (it may have expired)"])
        }
        if request.method != .get && request.method != .head {
            guard let sent = request.headers[.csrfToken], Self.constantTimeEqual(sent, session.csrf) else {
                return HTTPReply.json(.forbidden, ["error": "missing or wrong CSRF token; reload the page and try again"])
            }
        }
        var response = try await next(request, context)
        // Patient data: never cached, never framed, never sniffed.
        response.headers[.cacheControl] = "no-store"
        return response
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var d: UInt8 = 0
        for i in x.indices { d |= x[i] ^ y[i] }
        return d == 0
    }
}

extension HTTPField.Name {
    static let csrfToken = Self("X-CSRF-Token")!
}

enum HTTPReply {
    /// Headers every reading-room response carries: scripts and styles from this origin only.
    static let security: HTTPFields = [
        .contentSecurityPolicy: "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        .xContentTypeOptions: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
    ]

    static func json(_ status: HTTPResponse.Status, _ object: Any) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return body(status, data, contentType: "application/json")
    }

    static func encodable<T: Encodable>(_ value: T) -> Response {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(value) else { return json(.internalServerError, ["error": "cannot encode the answer"]) }
        return body(.ok, data, contentType: "application/json")
    }

    static func body(_ status: HTTPResponse.Status, _ data: Data, contentType: String) -> Response {
        var headers = security
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
