import Hummingbird
import NIOCore

/// What HTTP says about methods, which Hummingbird's router leaves to us: a known path asked
/// with a method it does not serve gets 405 with `Allow` (not 404), and a HEAD request gets its
/// GET twin's headers without the body (`getAndHead` registers both).
struct MethodPolicyMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The methods of every route, filled once the routes are installed (middleware must be
    /// added to the router before the routes it covers).
    final class Table: @unchecked Sendable {
        // Written once by `fill` before the server starts, read-only afterwards.
        private var routes: [(segments: [Substring], methods: Set<HTTPRequest.Method>)] = []

        func fill(_ descriptions: [(path: String, method: HTTPRequest.Method)]) {
            var byPath: [String: Set<HTTPRequest.Method>] = [:]
            for d in descriptions { byPath[d.path, default: []].insert(d.method) }
            routes = byPath.map { (Self.segments($0.key), $0.value) }
        }

        /// Methods served at `path`; empty for a path no route has.
        func methods(at path: String) -> Set<HTTPRequest.Method> {
            let asked = Self.segments(path)
            var found: Set<HTTPRequest.Method> = []
            for route in routes where route.segments.count == asked.count {
                let matches = zip(route.segments, asked).allSatisfy { pattern, segment in
                    pattern.hasPrefix(":") || pattern.hasPrefix("{") || pattern == "*" || pattern == segment
                }
                if matches { found.formUnion(route.methods) }
            }
            return found
        }

        private static func segments(_ path: String) -> [Substring] {
            path.split(separator: "?", maxSplits: 1).first.map { $0.split(separator: "/") } ?? []
        }
    }

    let table: Table

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let methods = table.methods(at: request.uri.path)
        guard !methods.isEmpty, !methods.contains(request.method) else {
            var response = try await next(request, context)
            if request.method == .head { response.body = ResponseBody() }
            return response
        }
        let list = methods.map(\.rawValue).sorted().joined(separator: ", ")
        return Response(status: .methodNotAllowed, headers: [.allow: list, .contentType: "text/plain; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: "\(request.method.rawValue) is not allowed here; use \(list)\n")))
    }
}

extension Router {
    /// GET `path`, and HEAD with the same handler (the middleware drops HEAD's body).
    func getAndHead(_ path: RouterPath, use handler: @escaping @Sendable (Request, Context) async throws -> Response) {
        get(path, use: handler)
        head(path, use: handler)
    }
}
