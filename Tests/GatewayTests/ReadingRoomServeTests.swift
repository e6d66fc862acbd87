import Foundation
import XCTest

/// The reading room's security as `wecare serve` runs it: no plain HTTP off loopback, HTTPS with
/// a Secure cookie, login throttling, session expiry, and a disabled account's session ending.
/// curl plays the browser; analysis is off (no image is needed for these).
final class ReadingRoomServeTests: XCTestCase {
    static let password = "correct-horse-battery"
    var dir: URL!

    override func setUpWithError() throws { dir = try Tools.temporaryDirectory("reading-room-serve") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testServeRefusesTheReadingRoomOnAllInterfacesWithoutTLS() throws {
        var config = TestConfig(dir: dir)
        config.analysisEnabled = false
        config.extra = "[review]\nenabled = true\n"
        let conf = try config.write()
        try config.text.replacingOccurrences(of: "[http]\n", with: "[http]\nbind = \"0.0.0.0\"\n")
            .write(to: conf, atomically: true, encoding: .utf8)
        let wecare = try WeCareBinary.url().path
        let serve = try Tools.run(wecare, ["serve", "--config", conf.path], timeout: 60)
        XCTAssertEqual(serve.status, 2, serve.output)
        XCTAssertTrue(serve.output.contains("\(conf.path):"), "FILE:LINE: \(serve.output)")
        XCTAssertTrue(serve.output.contains("needs HTTPS") && serve.output.contains("certificate and private_key"), serve.output)
        let check = try Tools.run(wecare, ["check-config", "--config", conf.path])
        XCTAssertEqual(check.status, 1, check.output)
        XCTAssertTrue(check.output.contains("needs HTTPS"), check.output)
    }

    func testHTTPSSecureCookieThrottleExpiryAndDisabledAccount() throws {
        try Tools.require("openssl", "curl")
        let cert = dir.appendingPathComponent("rr.crt").path, key = dir.appendingPathComponent("rr.key").path
        let made = try Tools.run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                                             "-days", "2", "-subj", "/CN=127.0.0.1"])
        XCTAssertEqual(made.status, 0, made.output)
        var config = TestConfig(dir: dir)
        config.analysisEnabled = false
        config.extra = """
            [review]
            enabled = true
            session_hours = 0.002
            failed_logins_before_pause = 3
            login_pause_seconds = 60
            certificate = "\(cert)"
            private_key = "\(key)"

            """
        let conf = try config.write()
        for (name, role) in [("dr.a", "radiologist"), ("dr.b", "radiologist")] {
            let r = try Tools.runWithInput(WeCareBinary.url().path,
                                           ["user", "add", name, "--role", role, "--config", conf.path, "--password-stdin"],
                                           input: Self.password + "\n")
            XCTAssertEqual(r.status, 0, r.output)
        }
        let short = try Tools.runWithInput(WeCareBinary.url().path, ["user", "add", "dr.c", "--role", "viewer", "--config", conf.path,
                                                                     "--password-stdin"], input: "short\n")
        XCTAssertNotEqual(short.status, 0, "a 5-character password is refused")
        XCTAssertTrue(short.output.contains("at least 10"), short.output)

        let gateway = try ServedGateway.start(config)
        defer { gateway.stop() }
        let base = "https://127.0.0.1:\(gateway.httpPort)"
        func curl(_ args: [String]) throws -> (status: Int, headers: String, body: String) {
            let r = try Tools.run("curl", ["-sk", "-D", "-", "-o", "-", "-w", "\n%{http_code}"] + args)
            let lines = r.output.split(separator: "\n", omittingEmptySubsequences: false)
            let text = lines.dropLast().joined(separator: "\n")
            return (Int(lines.last ?? "") ?? 0, text, text)
        }
        func login(_ name: String, _ password: String) throws -> (status: Int, headers: String, body: String) {
            try curl(["-X", "POST", "-H", "Content-Type: application/json",
                      "--data", "{\"name\":\"\(name)\",\"password\":\"\(password)\"}", "\(base)/api/v1/login"])
        }
        func cookie(_ headers: String) -> String {
            headers.split(whereSeparator: \.isNewline).first { $0.lowercased().hasPrefix("set-cookie:") }
                .map { String($0.dropFirst("set-cookie:".count).split(separator: ";")[0]).trimmingCharacters(in: .whitespaces) } ?? ""
        }

        XCTAssertEqual(try curl(["\(base)/healthz"]).status, 200, "HTTPS on the HTTP port")
        let plain = try Tools.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(gateway.httpPort)/api/v1/session"])
        XCTAssertNotEqual(plain.output, "200", "no plain HTTP on a TLS port")

        let a = try login("dr.a", Self.password)
        XCTAssertEqual(a.status, 200, a.body)
        let setCookie = a.headers.split(whereSeparator: \.isNewline).first { $0.lowercased().hasPrefix("set-cookie:") }.map(String.init) ?? ""
        for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
            XCTAssertTrue(setCookie.contains(attribute), "\(attribute) in \(setCookie): \(a.headers)")
        }
        let session = cookie(a.headers)
        XCTAssertEqual(try curl(["-H", "Cookie: \(session)", "\(base)/api/v1/session"]).status, 200)

        // Throttle: three wrong passwords, then even the right one waits.
        for _ in 0..<3 { XCTAssertEqual(try login("dr.b", "wrong-password-x").status, 401) }
        let paused = try login("dr.b", Self.password)
        XCTAssertEqual(paused.status, 429, paused.body)
        XCTAssertTrue(paused.headers.lowercased().contains("retry-after:"), paused.headers)

        // A disabled account's session ends at its next request.
        let disabled = try Tools.run(WeCareBinary.url().path, ["user", "disable", "dr.a", "--config", conf.path])
        XCTAssertEqual(disabled.status, 0, disabled.output)
        XCTAssertEqual(try curl(["-H", "Cookie: \(session)", "\(base)/api/v1/session"]).status, 401)
        XCTAssertEqual(try login("dr.a", Self.password).status, 401, "a disabled account cannot log in")
        let enabled = try Tools.run(WeCareBinary.url().path, ["user", "enable", "dr.a", "--config", conf.path])
        XCTAssertEqual(enabled.status, 0, enabled.output)

        // Sessions expire (session_hours = 0.002: 7.2 s).
        let again = cookie(try login("dr.a", Self.password).headers)
        XCTAssertEqual(try curl(["-H", "Cookie: \(again)", "\(base)/api/v1/review/items"]).status, 200)
        Thread.sleep(forTimeInterval: 8)
        XCTAssertEqual(try curl(["-H", "Cookie: \(again)", "\(base)/api/v1/review/items"]).status, 401, "expired")

        // The audit trail kept the logins, the failures and the accounts' changes.
        let list = try Tools.run(WeCareBinary.url().path, ["user", "list", "--config", conf.path])
        XCTAssertTrue(list.output.contains("dr.a\tradiologist") && list.output.contains("dr.b\tradiologist"), list.output)
    }
}

extension Tools {
    /// Runs to completion with `input` on standard input; stdout and stderr together.
    static func runWithInput(_ name: String, _ arguments: [String], input: String) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path(name) ?? name)
        process.arguments = arguments
        let stdin = Pipe(), output = Pipe()
        process.standardInput = stdin
        process.standardOutput = output
        process.standardError = output
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}
