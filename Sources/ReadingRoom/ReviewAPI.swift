import DICOM
import Foundation
import Gateway
import Hummingbird
import NIOCore
import Reporting

/// The JSON API behind the pages (documented in the README): login, the worklist, one image
/// with its contours, re-measuring edited contours, drafts, signing, and the audit trail.
enum ReviewAPI {
    static let classes = ["normal", "benign", "malignant"]
    static let maxBody = 2 << 20
    /// One signature at a time: a revision's number is taken, its files written and recorded
    /// before the next may start (the ledger checks it again).
    static let signing = NSLock()

    static func install(_ router: Router<BasicRequestContext>, core: ReadingRoomCore) {
        router.post("api/v1/login") { request, _ in await login(request, core) }
        router.post("api/v1/logout") { request, _ in
            guard let s = core.session(of: request) else { return HTTPReply.json(.unauthorized, ["error": "not logged in"]) }
            core.sessions.end(s.token)
            try? core.ledger.audit(user: s.user, action: "logout", job: nil, detail: nil, now: Date())
            var response = HTTPReply.json(.ok, ["ok": true])
            response.setCookie(core.cookie("", maxAge: 0))
            return response
        }
        router.get("api/v1/session") { request, _ in
            guard let s = core.session(of: request) else { return HTTPReply.json(.unauthorized, ["error": "not logged in"]) }
            return HTTPReply.json(.ok, ["user": s.user, "role": s.role.rawValue, "csrf": s.csrf,
                                        "expires": ISO8601DateFormatter().string(from: s.expires)])
        }
        router.get("api/v1/review/items") { request, _ in
            let q = request.uri.queryParameters
            var filter = WorklistFilter(page: q.get("page", as: Int.self) ?? 0)
            if let s = q.get("state"), !s.isEmpty {
                guard let state = ReviewState(rawValue: s) else {
                    return HTTPReply.json(.badRequest, ["error": "unknown state '\(s)'; use one of \(ReviewState.allCases.map(\.rawValue))"])
                }
                filter.state = state
            }
            filter.from = dicomDate(q.get("from"))
            filter.to = dicomDate(q.get("to"))
            do { return HTTPReply.encodable(try core.ledger.worklist(filter)) }
            catch { return HTTPReply.json(.internalServerError, ["error": "ledger: \(error)"]) }
        }
        router.get("api/v1/review/items/:job") { request, context in
            guard let s = core.session(of: request) else { return HTTPReply.json(.unauthorized, ["error": "not logged in"]) }
            return withItem(context, core) { item in
                try? core.ledger.audit(user: s.user, action: "view", job: item.row.job, detail: nil, now: Date())
                return HTTPReply.json(.ok, detail(item, role: s.role))
            }
        }
        router.get("api/v1/review/items/:job/image") { request, context in
            withItem(context, core) { item in
                do {
                    let (instance, doc) = try open(item, core)
                    let frame = max(0, Int(number(doc["frame"]) ?? 1) - 1)
                    let rgb = try instance.rgbFrame(min(frame, instance.numberOfFrames - 1))
                    return HTTPReply.body(.ok, try PNGCodec.encodeRGB(width: rgb.width, height: rgb.height, pixels: rgb.pixels),
                                          contentType: "image/png")
                } catch let e as APIError { return e.response }
                catch { return HTTPReply.json(.internalServerError, ["error": "cannot render the image: \(error)"]) }
            }
        }
        router.post("api/v1/review/items/:job/measure") { request, context in
            let body = await json(request)
            return withItem(context, core) { item in
                do {
                    let doc = document(item.result)
                    let (contours, width, height) = try contoursIn(body, doc)
                    let measured = try Signer.measure(contours, doc: doc, width: width, height: height)
                    return HTTPReply.json(.ok, ["lesions": measured.map(Signer.lesionJSON)])
                } catch let e as APIError { return e.response }
                catch { return HTTPReply.json(.unprocessableContent, ["error": "\(error)"]) }
            }
        }
        router.put("api/v1/review/items/:job/draft") { request, context in
            guard let s = core.session(of: request) else { return HTTPReply.json(.unauthorized, ["error": "not logged in"]) }
            guard s.role == .radiologist else { return forbidden(s, "save drafts") }
            let body = await json(request)
            return withItem(context, core) { item in
                do {
                    let doc = document(item.result)
                    let (contours, _, _) = try contoursIn(body, doc)
                    let draft: [String: Any] = ["contours": contours.map(\.points), "label": body?["label"] as? String ?? doc["label"] ?? "",
                                                "comment": body?["comment"] as? String ?? ""]
                    try core.ledger.saveDraft(job: item.row.job, draft: try JSONSerialization.data(withJSONObject: draft),
                                              user: s.user, now: Date())
                    return HTTPReply.json(.ok, ["saved": true])
                } catch let e as APIError { return e.response }
                catch { return HTTPReply.json(.unprocessableContent, ["error": "\(error)"]) }
            }
        }
        router.post("api/v1/review/items/:job/sign") { request, context in
            guard let s = core.session(of: request) else { return HTTPReply.json(.unauthorized, ["error": "not logged in"]) }
            guard s.role == .radiologist else { return forbidden(s, "sign") }
            let body = await json(request)
            return withItem(context, core) { item in sign(item, body: body, session: s, core: core) }
        }
        router.get("api/v1/audit") { request, _ in
            guard let s = core.session(of: request) else { return HTTPReply.json(.unauthorized, ["error": "not logged in"]) }
            guard s.role == .admin else { return forbidden(s, "read the audit trail") }
            let q = request.uri.queryParameters
            let limit = min(max(q.get("limit", as: Int.self) ?? 200, 1), 5000)
            do { return HTTPReply.encodable(try core.ledger.auditTrail(limit: limit, job: q.get("job", as: Int64.self))) }
            catch { return HTTPReply.json(.internalServerError, ["error": "ledger: \(error)"]) }
        }
    }

    struct APIError: Error {
        var status: HTTPResponse.Status
        var message: String
        var response: Response { HTTPReply.json(status, ["error": message]) }
    }

    static func forbidden(_ s: SessionStore.Session, _ what: String) -> Response {
        HTTPReply.json(.forbidden, ["error": "a \(s.role.rawValue) account may not \(what); only a radiologist may"])
    }

    static func login(_ request: Request, _ core: ReadingRoomCore) async -> Response {
        guard request.headers[.contentType]?.hasPrefix("application/json") == true,
              let body = await json(request), let name = body["name"] as? String, let password = body["password"] as? String else {
            return HTTPReply.json(.badRequest, ["error": "send JSON {\"name\": ..., \"password\": ...}"])
        }
        let now = Date()
        if let wait = core.throttle.wait(name, now: now) {
            core.service.metrics.reviewLogin(result: "paused")
            var r = HTTPReply.json(.tooManyRequests, ["error": "too many failed logins for this account; try again in \(wait) s"])
            r.headers[.retryAfter] = "\(wait)"
            return r
        }
        let account = try? core.ledger.account(name: name)
        guard Passwords.verify(password, hash: account?.passwordHash), let account, !account.disabled else {
            core.throttle.failed(name, now: now)
            core.service.metrics.reviewLogin(result: "failed")
            // The audit trail names an account that exists; a wrong name is only counted.
            if account != nil { try? core.ledger.audit(user: name, action: "login-failed", job: nil, detail: nil, now: now) }
            return HTTPReply.json(.unauthorized, ["error": "wrong name or password"])
        }
        core.throttle.succeeded(name)
        core.service.metrics.reviewLogin(result: "ok")
        let session = core.sessions.create(user: account.name, role: account.role, now: now)
        try? core.ledger.audit(user: account.name, action: "login", job: nil, detail: nil, now: now)
        var response = HTTPReply.json(.ok, ["user": account.name, "role": account.role.rawValue, "csrf": session.csrf])
        response.setCookie(core.cookie(session.token, maxAge: Int(core.settings.sessionLifetimeSeconds)))
        return response
    }

    static func json(_ request: Request) async -> [String: Any]? {
        guard let buffer = try? await request.body.collect(upTo: maxBody) else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any]
    }

    static func document(_ data: Data) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// "2026-12-06" or "20261206" as a DICOM date; nil when empty or not a date.
    static func dicomDate(_ s: String?) -> String? {
        guard let s else { return nil }
        let digits = s.filter(\.isNumber)
        return digits.count == 8 ? digits : nil
    }

    static func withItem(_ context: BasicRequestContext, _ core: ReadingRoomCore, _ body: (ReviewItem) -> Response) -> Response {
        guard let job = context.parameters.get("job", as: Int64.self) else {
            return HTTPReply.json(.badRequest, ["error": "the image number must be a number"])
        }
        do {
            guard let item = try core.ledger.reviewItem(job: job) else {
                return HTTPReply.json(.notFound, ["error": ReviewLedgerError.noSuchItem(job).description])
            }
            return body(item)
        } catch {
            return HTTPReply.json(.internalServerError, ["error": "ledger: \(error)"])
        }
    }

    static func open(_ item: ReviewItem, _ core: ReadingRoomCore) throws -> (DICOMInstance, [String: Any]) {
        guard let path = item.spoolPath else {
            throw APIError(status: .gone, message: "the image was removed by retention ([retention] keep_images_days); it can no longer be reviewed")
        }
        return (try DICOMInstance(contentsOf: core.service.spool.url(relativePath: path)), document(item.result))
    }

    /// The contours of a request body, checked against the image size.
    static func contoursIn(_ body: [String: Any]?, _ doc: [String: Any]) throws -> ([Contour], Int, Int) {
        guard let raw = body?["contours"] as? [Any] else {
            throw APIError(status: .badRequest, message: "send JSON {\"contours\": [[[x, y], ...], ...]} in source pixels")
        }
        let contours = raw.map { c in Contour(points: (c as? [Any] ?? []).map { p in (p as? [Any] ?? []).compactMap(number) }) }
        let width = Int(number(doc["width"]) ?? 0), height = Int(number(doc["height"]) ?? 0)
        do { try ContourGeometry.validate(contours, width: width, height: height) }
        catch let e as ContourError { throw APIError(status: .unprocessableContent, message: e.description) }
        return (contours, width, height)
    }

    /// The AI's lesions as editable polygons (outer boundaries only).
    static func aiContours(_ doc: [String: Any]) -> [Contour] {
        (doc["lesions"] as? [[String: Any]] ?? []).compactMap { l in
            (l["svg_path"] as? String).flatMap { ContourGeometry.polygons(fromSVGPath: $0).first }
        }
    }

    static func contours(ofSigned doc: [String: Any]) -> [Contour] {
        (doc["lesions"] as? [[String: Any]] ?? []).map { l in
            Contour(points: (l["points"] as? [Any] ?? []).map { p in (p as? [Any] ?? []).compactMap(number) })
        }
    }

    static func detail(_ item: ReviewItem, role: ReviewRole) -> [String: Any] {
        let ai = document(item.result)
        let signed = item.signedDocument.map(document)
        let draft = item.draft.map(document)
        let aiLesions = (ai["lesions"] as? [[String: Any]] ?? []).map { l in
            ["area_mm2": l["area_mm2"] ?? NSNull(), "long_axis_mm": l["long_axis_mm"] ?? NSNull(),
             "short_axis_mm": l["short_axis_mm"] ?? NSNull(), "long_axis_px": l["long_axis_px"] ?? NSNull(),
             "short_axis_px": l["short_axis_px"] ?? NSNull()]
        }
        let current: [Contour], label: Any, comment: Any, source: String
        if let draft {
            current = (draft["contours"] as? [Any] ?? []).map { c in
                Contour(points: (c as? [Any] ?? []).map { p in (p as? [Any] ?? []).compactMap(number) })
            }
            label = draft["label"] ?? ai["label"] ?? "normal"; comment = draft["comment"] ?? ""; source = "draft"
        } else if let signed {
            current = contours(ofSigned: signed)
            label = signed["label"] ?? "normal"
            comment = (signed["review"] as? [String: Any])?["comment"] ?? ""; source = "signed"
        } else {
            current = aiContours(ai); label = ai["label"] ?? "normal"; comment = ""; source = "ai"
        }
        let r = item.row
        return [
            "job": r.job, "patient_name": r.patientName ?? NSNull(), "patient_id": r.patientID ?? NSNull(),
            "study_date": r.studyDate ?? NSNull(), "state": r.state.rawValue, "revision": r.revision,
            "width": ai["width"] ?? 0, "height": ai["height"] ?? 0, "frame": ai["frame"] ?? 1,
            "size_units": ai["size_units"] ?? "pixels",
            "ai": ["label": ai["label"] ?? NSNull(), "probabilities": ai["probabilities"] ?? [:], "lesions": aiLesions,
                   "contours": aiContours(ai).map(\.points), "model": ai["model"] ?? NSNull()],
            "contours": current.map(\.points), "label": label, "comment": comment, "source": source,
            "signed": (signed?["review"] as? [String: Any]) ?? NSNull(),
            "can_sign": role == .radiologist, "image_available": item.spoolPath != nil,
        ]
    }

    /// What the signed contours changed against the AI's, for the audit trail: "outline 1: 1 of
    /// 22 points moved; outline 3 drawn" (no patient data).
    static func changes(from ai: [Contour], to signed: [Contour]) -> String {
        var parts: [String] = []
        for k in 0..<max(ai.count, signed.count) {
            guard k < signed.count else { parts.append("outline \(k + 1) deleted"); continue }
            guard k < ai.count else { parts.append("outline \(k + 1) drawn (\(signed[k].points.count) points)"); continue }
            let a = ai[k].points, b = signed[k].points
            if a == b { continue }
            if a.count == b.count {
                parts.append("outline \(k + 1): \(zip(a, b).filter { $0 != $1 }.count) of \(a.count) points moved")
            } else {
                parts.append("outline \(k + 1): \(a.count) -> \(b.count) points")
            }
        }
        return "\(signed.count) outline(s)" + (parts.isEmpty ? " as the AI drew them" : " (" + parts.joined(separator: "; ") + ")")
    }

    static func sign(_ item: ReviewItem, body: [String: Any]?, session s: SessionStore.Session, core: ReadingRoomCore) -> Response {
        signing.lock()
        defer { signing.unlock() }
        do {
            let doc = document(item.result)
            let (contours, _, _) = try contoursIn(body, doc)
            guard let label = body?["label"] as? String, classes.contains(label) else {
                throw APIError(status: .badRequest, message: "label must be one of \(classes.joined(separator: ", "))")
            }
            let expected = Int(number(body?["revision"]) ?? -1)
            guard expected == item.row.revision else {
                throw APIError(status: .conflict, message: ReviewLedgerError.revisionConflict(job: item.row.job, found: item.row.revision).description)
            }
            let comment = String((body?["comment"] as? String ?? "").prefix(2000))
            let aiContours = aiContours(doc)
            let accepted = contours == aiContours && label == (doc["label"] as? String)
            let (instance, _) = try open(item, core)
            let now = Date()
            let signing = Signing(contours: contours, label: label, comment: comment, radiologist: s.user,
                                  revision: item.row.revision + 1, organization: core.settings.organization, at: now, accepted: accepted)
            let produced = try Signer.objects(signing, item: item, instance: instance)
            let document = produced.first { $0.kind == .json }?.data ?? Data()
            let detail = "revision \(signing.revision) \(accepted ? "accepted" : "corrected"): class \(label) (AI \(doc["label"] ?? "?")), "
                + changes(from: aiContours, to: contours) + (comment.isEmpty ? "" : ", with a comment")
            try core.service.deliverSigned(produced, job: item.row.job) { objects in
                try core.ledger.recordSignature(SignedRevision(jobID: item.row.job, revision: signing.revision, user: s.user,
                                                               outcome: accepted ? .accepted : .corrected, document: document,
                                                               objects: objects, auditDetail: detail),
                                                expectedPrevious: item.row.revision, now: now)
            }
            core.service.metrics.reviewSigned(outcome: accepted ? "accepted" : "corrected")
            core.logger.notice("revision signed", metadata: ["job": "\(item.row.job)", "revision": "\(signing.revision)",
                                                             "outcome": "\(accepted ? "accepted" : "corrected")"])
            return HTTPReply.json(.ok, [
                "signed": true, "revision": signing.revision, "state": accepted ? "accepted" : "corrected",
                "objects": produced.map { o -> [String: Any] in
                    ["file": o.fileName, "kind": o.kind.rawValue, "sop_instance_uid": o.sopInstanceUID as Any? ?? NSNull()]
                },
            ])
        } catch let e as APIError {
            return e.response
        } catch let e as ReviewLedgerError {
            return HTTPReply.json(.conflict, ["error": e.description])
        } catch {
            return HTTPReply.json(.unprocessableContent, ["error": "cannot sign: \(error)"])
        }
    }
}
