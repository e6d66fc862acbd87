import Foundation
import Gateway
import Hummingbird
import Logging

/// The reading room: radiologists review, correct and sign the AI's results in a browser
/// served on the gateway's HTTP port (`[review]` in gateway.toml). `wecare serve` plugs it in.
public final class ReadingRoom: ReadingRoomPlugin, @unchecked Sendable {
    // Immutable after init; `core` is made once the gateway hands over its service (before
    // the HTTP server starts, from one thread).
    private let settings: ReviewSettings
    private let logger: Logger
    private var core: ReadingRoomCore?

    public init(settings: ReviewSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    private func core(_ service: GatewayService) -> ReadingRoomCore {
        if let core { return core }
        let made = ReadingRoomCore(settings: settings, service: service, logger: logger)
        core = made
        return made
    }

    public func installFront(_ router: Router<BasicRequestContext>, service: GatewayService) {
        router.add(middleware: SessionGuard(room: core(service)))
    }

    public func installRoutes(_ router: Router<BasicRequestContext>, service: GatewayService) {
        let core = core(service)
        Pages.install(router, core: core)
        ReviewAPI.install(router, core: core)
    }

    public func analysed(job: Int64, instance: ReceivedInstance, produced: [ProducedObject], service: GatewayService) {
        Intake.record(job: job, instance: instance, produced: produced, service: service, logger: logger)
    }
}

/// What the reading room's routes share.
final class ReadingRoomCore: @unchecked Sendable {
    // All immutable or thread-safe; `service` outlives the HTTP server that calls us.
    let settings: ReviewSettings
    unowned let service: GatewayService
    let sessions: SessionStore
    let throttle: LoginThrottle
    let logger: Logger
    static let cookieName = "wecare_session"

    init(settings: ReviewSettings, service: GatewayService, logger: Logger) {
        self.settings = settings
        self.service = service
        sessions = SessionStore(lifetime: settings.sessionLifetimeSeconds)
        throttle = LoginThrottle(limit: settings.failedLoginsBeforePause, pause: settings.loginPauseSeconds)
        self.logger = logger
    }

    var ledger: ReviewLedger { service.ledger as! ReviewLedger }  // SQLiteLedger is the only ledger

    /// The request's session, when its cookie names a live one whose account is still enabled
    /// (a disabled account's sessions end at its next request).
    func session(of request: Request) -> SessionStore.Session? {
        guard let token = request.cookies[Self.cookieName]?.value, var session = sessions.session(token, now: Date()) else { return nil }
        guard let account = try? ledger.account(name: session.user), !account.disabled else {
            sessions.end(token)
            return nil
        }
        session.role = account.role
        return session
    }

    /// The session cookie: HttpOnly, SameSite=Strict, Secure under TLS, for the session's lifetime.
    func cookie(_ value: String, maxAge: Int) -> Cookie {
        Cookie(name: Self.cookieName, value: value, maxAge: maxAge, path: "/", secure: settings.usesTLS, httpOnly: true,
               sameSite: .strict)
    }
}
