import Foundation
import Gateway
import Hummingbird

/// The pages: plain HTML, CSS and ES-module JavaScript from this module's resources (`Web/`),
/// read once at start. The HTML holds no patient data: the scripts fetch it from the API.
enum Pages {
    static let types = ["html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8",
                        "js": "text/javascript; charset=utf-8", "svg": "image/svg+xml", "ico": "image/x-icon"]

    /// Every file under Web/, by its path there ("login.html", "js/viewer.js").
    static func load() -> [String: Data] {
        guard let root = Bundle.module.url(forResource: "Web", withExtension: nil),
              let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [:] }
        var files: [String: Data] = [:]
        let prefix = root.standardizedFileURL.path + "/"
        for case let url as URL in walker {
            guard let data = try? Data(contentsOf: url) else { continue }
            files[String(url.standardizedFileURL.path.dropFirst(prefix.count))] = data
        }
        return files
    }

    /// Answers with one of `files` by its path under Web/, or 404.
    static func server(_ files: [String: Data]) -> @Sendable (String) -> Response {
        { name in
            guard let data = files[name] else { return HTTPReply.json(.notFound, ["error": "no such page"]) }
            let ext = String(name.split(separator: ".").last ?? "")
            return HTTPReply.body(.ok, data, contentType: types[ext] ?? "application/octet-stream")
        }
    }

    /// The pages both route sets have: the self-exam page and the icon.
    private static func installShared(_ router: Router<BasicRequestContext>, _ serve: @escaping @Sendable (String) -> Response) {
        router.getAndHeadPage("self-exam") { _, _ in serve("self-exam.html") }
        router.getAndHeadPage("favicon.ico") { _, _ in serve("favicon.svg") }
    }

    /// Only the pages that need no account: the self-exam page and its own files.
    static func installPublic(_ router: Router<BasicRequestContext>) {
        let serve = server(load())
        installShared(router, serve)
        router.getAndHeadPage("static/app.css") { _, _ in serve("app.css") }
        router.getAndHeadPage("static/js/selfexam.js") { _, _ in serve("js/selfexam.js") }
    }

    static func install(_ router: Router<BasicRequestContext>, core: ReadingRoomCore) {
        let serve = server(load())
        installShared(router, serve)
        router.getAndHeadPage("/") { _, _ in Response(status: .seeOther, headers: [.location: "/worklist"]) }
        router.getAndHeadPage("login") { _, _ in serve("login.html") }
        router.getAndHeadPage("worklist") { _, _ in serve("worklist.html") }
        router.getAndHeadPage("viewer/:job") { _, _ in serve("viewer.html") }
        router.getAndHeadPage("audit") { _, _ in serve("audit.html") }
        router.getAndHeadPage("static/:file") { _, context in serve(context.parameters.get("file") ?? "") }
        router.getAndHeadPage("static/js/:file") { _, context in serve("js/" + (context.parameters.get("file") ?? "")) }
    }
}

extension Router {
    /// GET and HEAD (the gateway's method policy drops HEAD's body).
    func getAndHeadPage(_ path: RouterPath, use handler: @escaping @Sendable (Request, Context) async throws -> Response) {
        get(path, use: handler)
        head(path, use: handler)
    }
}

/// The public self-examination page for a gateway whose reading room is off (`[review] enabled =
/// false`, the default): patients and the public reach it at /self-exam all the same.
public enum PublicPages {
    public static let installer: RouteInstaller = { router in Pages.installPublic(router) }
}
