import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// Adds routes to the gateway's HTTP server (the lead adds /api/v1/predict and /classify this way).
public typealias RouteInstaller = @Sendable (Router<BasicRequestContext>) -> Void

/// /healthz, /readyz, /metrics and the jobs API on Hummingbird 2.
final class GatewayHTTPServer: @unchecked Sendable {
    // `group`/`runTask` are set in start() and cleared in stop(), both called by the service in order.
    private let settings: HTTPSettings
    private let service: GatewayService
    private let extraRoutes: [RouteInstaller]
    /// Installed before the gateway's own routes (the reading room's session guard).
    private let frontRoutes: [RouteInstaller]
    private let tls: (certificate: String, privateKey: String)?
    private let logger: Logger
    private var group: ServiceGroup?
    private var runTask: Task<Void, Error>?
    private(set) var boundPort: Int?
    /// Seconds an HTTP connection may stay open without a request or a byte of one.
    static let idleTimeoutSeconds = 30

    init(settings: HTTPSettings, service: GatewayService, extraRoutes: [RouteInstaller], frontRoutes: [RouteInstaller] = [],
         tls: (certificate: String, privateKey: String)? = nil, logger: Logger) {
        self.settings = settings
        self.service = service
        self.extraRoutes = extraRoutes
        self.frontRoutes = frontRoutes
        self.tls = tls
        self.logger = logger
    }

    func start() async throws {
        let router = Router()
        let methods = MethodPolicyMiddleware<BasicRequestContext>.Table()
        router.add(middleware: MethodPolicyMiddleware(table: methods))
        for install in frontRoutes { install(router) }
        installRoutes(router)
        for install in extraRoutes { install(router) }
        methods.fill(router.routes.map { ("\($0.path)", $0.method) })
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let server: HTTPServerBuilder
        do {
            // A connection that sends nothing for this long is closed: idle clients cost nothing.
            server = try HTTPTLS.server(idleTimeoutSeconds: Self.idleTimeoutSeconds, certificate: tls?.certificate,
                                        privateKey: tls?.privateKey)
        } catch {
            throw GatewayError.httpStartFailed(address: settings.bindAddress, port: settings.port,
                                               reason: "cannot load the HTTPS certificate or key of [review]: \(error)")
        }
        let app = Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(settings.bindAddress, port: settings.port), serverName: nil),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        self.group = group
        let task = Task { try await group.run() }
        runTask = task
        // Either the server reports its port, or run() fails (port in use) and the stream never yields.
        let failure = Task {
            do { try await task.value } catch { continuation.finish() }
        }
        var port: Int?
        for await p in stream { port = p; break }
        failure.cancel()
        guard let port else {
            let reason: String
            do { try await task.value; reason = "server stopped at once" } catch { reason = "\(error)" }
            throw GatewayError.httpStartFailed(address: settings.bindAddress, port: settings.port, reason: reason)
        }
        boundPort = port
    }

    func stop() async {
        await group?.triggerGracefulShutdown()
        _ = try? await runTask?.value
        group = nil
        runTask = nil
    }

    private func installRoutes(_ router: Router<BasicRequestContext>) {
        let service = self.service
        router.getAndHead("healthz") { _, _ in Self.text("ok\n") }
        router.getAndHead("readyz") { _, _ in
            let problems = service.readinessProblems()
            let degraded = service.degradations().map { "- \($0)\n" }.joined()
            if problems.isEmpty { return Self.text("ready\n" + (degraded.isEmpty ? "" : "degraded:\n" + degraded)) }
            return Self.text("not ready:\n" + problems.map { "- \($0)\n" }.joined() + (degraded.isEmpty ? "" : "degraded:\n" + degraded),
                             status: .serviceUnavailable)
        }
        router.getAndHead("metrics") { _, _ in
            service.refreshMetrics()
            return Self.text(service.metrics.render(), contentType: "text/plain; version=0.0.4")
        }
        router.getAndHead("api/v1/jobs") { request, _ in
            let limit = request.uri.queryParameters.get("limit", as: Int.self).map { min(max($0, 1), 1000) } ?? 100
            do { return try Self.json(service.ledger.recentJobs(limit: limit)) }
            catch { return Self.text("ledger error: \(error)\n", status: .internalServerError) }
        }
        router.getAndHead("api/v1/jobs/:id") { _, context in
            guard let id = context.parameters.get("id", as: Int64.self) else {
                return Self.text("job id must be a number\n", status: .badRequest)
            }
            do {
                guard let job = try service.ledger.job(id: id) else { return Self.text("no job \(id)\n", status: .notFound) }
                return try Self.json(job)
            } catch { return Self.text("ledger error: \(error)\n", status: .internalServerError) }
        }
    }

    static func text(_ body: String, status: HTTPResponse.Status = .ok, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func json<T: Encodable>(_ value: T) throws -> Response {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
