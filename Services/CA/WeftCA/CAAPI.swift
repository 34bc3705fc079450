import HTTPTypes
public import Hummingbird
import Logging
import NIOCore
public import WeftAPIServer
import WeftProtocol
import WeftTLS

/// The request context of the CA's API: the connection comes with it (see
/// `ChannelRequestContext`).
public typealias CARequestContext = ChannelRequestContext

/// The CA's HTTP API over TLS: the signing endpoint workloads call (with a join
/// token, or with their current certificate over mutual TLS), the public trust
/// bundle, the admin calls under `/v1` (bearer admin token) and the operational
/// endpoints. Paths are documented in `docs/api/ca.openapi.json`, served as is
/// at `/v1/openapi.json`. Routing is a plain match on segments, so every
/// refusal is a problem document (404 unknown path, 405 with `Allow`).
struct CAAPI: HTTPResponder {
    typealias Context = CARequestContext

    let configuration: CAConfiguration
    let store: CAStore
    let authorities: CAAuthorities
    let ledger: RenewalLedger
    let reloader: CAReloader
    let limiter: RateLimiter
    let metrics: CAMetrics
    let logger: Logger

    func respond(to request: Request, context: Context) async throws -> Response {
        await APIResponder<Route>(service: "CA", metrics: metrics.requests, logger: logger).respond(to: request) {
            route in try await dispatch(route, request, context)
        }
    }

    // MARK: Routing

    enum Route: APIRoute {
        case health, ready, metrics, openAPI, bundle, sign
        case certificates
        case certificate(serial: String)
        case revoke(serial: String)
        case joinTokens
        case joinToken(id: String)
        case roots
        case root(generation: String)
        case activate(generation: String)
        case retire(generation: String)
        case unknown

        init(_ segments: [String]) {
            switch segments {
            case ["healthz"]: self = .health
            case ["readyz"]: self = .ready
            case ["metrics"]: self = .metrics
            case ["v1", "openapi.json"]: self = .openAPI
            case ["v1", "bundle"]: self = .bundle
            case ["v1", "certificates", "sign"]: self = .sign
            case ["v1", "certificates"]: self = .certificates
            case let s where s.count == 3 && s[0] == "v1" && s[1] == "certificates": self = .certificate(serial: s[2])
            case let s where s.count == 4 && s[0] == "v1" && s[1] == "certificates" && s[3] == "revoke":
                self = .revoke(serial: s[2])
            case ["v1", "join-tokens"]: self = .joinTokens
            case let s where s.count == 3 && s[0] == "v1" && s[1] == "join-tokens": self = .joinToken(id: s[2])
            case ["v1", "roots"]: self = .roots
            case let s where s.count == 3 && s[0] == "v1" && s[1] == "roots": self = .root(generation: s[2])
            case let s where s.count == 4 && s[0] == "v1" && s[1] == "roots" && s[3] == "activate":
                self = .activate(generation: s[2])
            case let s where s.count == 4 && s[0] == "v1" && s[1] == "roots" && s[3] == "retire":
                self = .retire(generation: s[2])
            default: self = .unknown
            }
        }

        var template: String? {
            switch self {
            case .health: "/healthz"
            case .ready: "/readyz"
            case .metrics: "/metrics"
            case .openAPI: "/v1/openapi.json"
            case .bundle: "/v1/bundle"
            case .sign: "/v1/certificates/sign"
            case .certificates: "/v1/certificates"
            case .certificate: "/v1/certificates/{serial}"
            case .revoke: "/v1/certificates/{serial}/revoke"
            case .joinTokens: "/v1/join-tokens"
            case .joinToken: "/v1/join-tokens/{id}"
            case .roots: "/v1/roots"
            case .root: "/v1/roots/{generation}"
            case .activate: "/v1/roots/{generation}/activate"
            case .retire: "/v1/roots/{generation}/retire"
            case .unknown: nil
            }
        }

        var methods: [HTTPRequest.Method] {
            switch self {
            case .health, .ready, .metrics, .openAPI, .bundle, .certificates, .certificate, .root: [.get]
            case .sign, .revoke, .activate, .retire: [.post]
            case .joinTokens, .roots: [.get, .post]
            case .joinToken: [.get, .delete]
            case .unknown: []
            }
        }

        /// Calls made without the admin token: operational ones, the bundle
        /// (public by nature), and signing (authorized by token or certificate).
        var needsAdmin: Bool {
            switch self {
            case .health, .ready, .metrics, .openAPI, .bundle, .sign: false
            default: true
            }
        }
    }

    private func dispatch(_ route: Route, _ request: Request, _ context: Context) async throws -> Response {
        if route.needsAdmin {
            let token = try request.bearerToken(realm: "weft-ca", expecting: "admin token")
            guard SecretDigest.constantTimeEquals(token, configuration.adminToken) else {
                throw APIRefusal.unauthenticated("the token is not the CA's admin token", realm: "weft-ca")
            }
        }
        var request = request
        switch route {
        case .health:
            return try APIResponse.json(["status": "ok"])
        case .ready:
            _ = try request.strictQuery(allowed: [])
            guard (try? authorities.signer()) != nil else {
                return APIResponse.problem(
                    Problem(
                        type: Problem.typeBase + "not-ready", title: "Not ready", status: 503,
                        detail: "this replica holds no key for the active root generation"))
            }
            return try APIResponse.json([
                "status": "ready", "bundle_version": String(authorities.snapshot.bundleVersion),
            ])
        case .metrics:
            metrics.bundleVersion.set(Double(authorities.snapshot.bundleVersion))
            return APIResponse.bytes(metrics.exposition(), contentType: RequestMetrics.contentType)
        case .openAPI:
            return APIResponse.bytes(Array(CAOpenAPI.document.utf8))
        case .bundle:
            return try bundle(request)
        case .sign:
            _ = try request.strictQuery(allowed: [])
            return try await sign(&request, context)
        case .certificates:
            let parameters = try request.strictQuery(allowed: Page.allowedParameters.union(["identity"]))
            let page = try Page(parameters)
            let identity = try parameters["identity"].map { (text) throws(ProtocolError) in
                try SPIFFEID(validating: text)
            }
            let after = try page.after.map { (text) throws(ProtocolError) in try CertificateSerial(validating: text).hex
            }
            let entries = try await store.certificates(identity: identity, after: after, limit: page.limit + 1)
            let items = entries.prefix(page.limit)
            let next = entries.count > page.limit ? items.last?.serial.hex : nil
            return try APIResponse.json(ListBody(items: items.map(CertificateView.init), next: next))
        case .certificate(let text):
            _ = try request.strictQuery(allowed: [])
            let serial = try Self.serial(text)
            guard let entry = try await store.certificate(serial: serial) else {
                throw CAError(.notFound, "no certificate with serial \(serial) in the ledger")
            }
            return try APIResponse.json(CertificateView(entry: entry))
        case .revoke(let text):
            _ = try request.strictQuery(allowed: [])
            let serial = try Self.serial(text)
            let revocation = try await request.decodeJSON(CertificateRevocation.self, emptyIsObject: true)
            let (entry, version) = try await store.revoke(serial: serial, reason: revocation.reason)
            try await reloader.reload()
            logger.notice(
                "certificate revoked",
                metadata: ["serial": "\(serial)", "identity": "\(entry.identity)", "bundle_version": "\(version)"])
            return try APIResponse.json(CertificateView(entry: entry))
        case .joinTokens:
            if request.method == .get {
                let page = try Page(try request.strictQuery(allowed: Page.allowedParameters))
                if let after = page.after, !Self.couldBeTokenID(after) {
                    throw ProtocolError(field: "after", "is not a join token id (jt_…, from a listing's next)")
                }
                let tokens = try await store.tokens(after: page.after, limit: page.limit + 1)
                let items = Array(tokens.prefix(page.limit))
                return try APIResponse.json(
                    ListBody(items: items, next: tokens.count > page.limit ? items.last?.id : nil))
            }
            _ = try request.strictQuery(allowed: [])
            let tokenRequest = try await request.decodeJSON(JoinTokenRequest.self)
            guard tokenRequest.identity.trustDomain == configuration.trustDomain else {
                throw ProtocolError(
                    field: "identity", "must be in this CA's trust domain \(configuration.trustDomain)")
            }
            guard tokenRequest.identity.description != CAAuthorities.ownIdentity(trustDomain: configuration.trustDomain)
            else {
                throw ProtocolError(field: "identity", "is the CA's own identity; it is never issued to a workload")
            }
            let secret = try JoinTokenSecret(validating: try SecretDigest.newSecret(prefix: JoinTokenSecret.prefix))
            let id = "jt_" + (try SecretDigest.newSecret(prefix: "", byteCount: 9))
            let token = try await store.createToken(
                id: id, sha256: SecretDigest.sha256Hex(secret.value), request: tokenRequest)
            logger.notice(
                "join token created",
                metadata: ["id": "\(id)", "identity": "\(token.identity)", "max_uses": "\(token.maximumUses)"])
            return try APIResponse.json(JoinTokenCreated(token: token, secret: secret), status: .created)
        case .joinToken(let id):
            _ = try request.strictQuery(allowed: [])
            // Not the database's to refuse: a NUL byte in the id made PostgreSQL
            // fail the query, a 500 (found by schemathesis).
            guard Self.couldBeTokenID(id) else { throw CAError(.notFound, "no join token \(id.prefix(80))") }
            if request.method == .get {
                guard let token = try await store.token(id: id) else {
                    throw CAError(.notFound, "no join token \(id.prefix(80))")
                }
                return try APIResponse.json(token)
            }
            let token = try await store.revokeToken(id: id)
            logger.notice("join token revoked", metadata: ["id": "\(id)"])
            return try APIResponse.json(token)
        case .roots:
            _ = try request.strictQuery(allowed: [])
            if request.method == .get {
                return try APIResponse.json(ListBody(items: authorities.snapshot.roots.map(RootView.init)))
            }
            let authority = try authorities.createGeneration()
            try await store.adopt(authorities.loadedAuthorities)
            try await reloader.reload()
            logger.notice("root generation introduced", metadata: ["generation": "\(authority.generation)"])
            return try APIResponse.json(RootView(record: try root(authority.generation)), status: .created)
        case .root(let text):
            _ = try request.strictQuery(allowed: [])
            return try APIResponse.json(RootView(record: try root(try Self.generation(text))))
        case .activate(let text):
            _ = try request.strictQuery(allowed: [])
            let generation = try Self.generation(text)
            _ = try root(generation)
            _ = try await store.activate(generation, propagation: configuration.rootPropagation)
            try await reloader.reload()
            logger.notice("root generation activated", metadata: ["generation": "\(generation)"])
            return try APIResponse.json(RootView(record: try root(generation)))
        case .retire(let text):
            _ = try request.strictQuery(allowed: [])
            let generation = try Self.generation(text)
            _ = try root(generation)
            _ = try await store.retire(generation)
            try await reloader.reload()
            logger.notice("root generation retired", metadata: ["generation": "\(generation)"])
            return try APIResponse.json(RootView(record: try root(generation)))
        case .unknown:
            preconditionFailure("handled above")
        }
    }

    // MARK: Bundle

    /// The trust bundle, with its version as the entity tag: a proxy polling with
    /// `If-None-Match` gets 304 and no body until something changes.
    private func bundle(_ request: Request) throws -> Response {
        _ = try request.strictQuery(allowed: [])
        let (version, body) = authorities.bundleBody
        let tag = "\"\(version)\""
        if let match = request.headers[.ifNoneMatch],
            match.split(separator: ",").contains(where: { trimmed($0) == tag || trimmed($0) == "*" })
        {
            return Response(status: .notModified, headers: [.eTag: tag])
        }
        return APIResponse.bytes(body, etag: version)
    }

    // MARK: Signing

    private func sign(_ request: inout Request, _ context: Context) async throws -> Response {
        let client = context.channel.remoteAddress?.ipAddress ?? "unknown"
        if let wait = limiter.take(client) {
            metrics.rateLimited.increment()
            throw APIRefusal.tooManyRequests(
                "more than \(Int(limiter.rate)) signing requests per second from \(client)",
                retryAfterSeconds: Int(wait.rounded(.up)))
        }
        let body = try await request.decodeJSON(CertificateSigningRequest.self, maximumSize: 64 * 1024)
        let signer = try authorities.signer()
        let now = CAAuthorities.now()
        let issued: WorkloadSigner.Issued
        if let token = body.joinToken {
            let digest = SecretDigest.sha256Hex(token.value)
            let stored = try await store.token(sha256: digest)
            guard let stored, stored.token.isUsable(at: Timestamp(secondsSinceEpoch: now)), !stored.expired else {
                throw CAStore.tokenRefusal(stored)
            }
            issued = try signer.sign(csrPEM: body.csr.text, as: stored.token.identity, now: now)
            try await store.recordWithToken(sha256: digest, Self.entry(issued, via: .joinToken))
            metrics.issued(via: .joinToken)
        } else {
            let (identity, serial) = try await renewalIdentity(context, now: now)
            issued = try signer.sign(csrPEM: body.csr.text, as: identity, now: now)
            var entry = Self.entry(issued, via: .renewal)
            entry.renewedSerial = serial
            try await ledger.record(entry)
            metrics.issued(via: .renewal)
        }
        logger.debug(
            "certificate issued",
            metadata: [
                "identity": "\(issued.identity)", "serial": "\(issued.serial)",
                "generation": "\(issued.issuerGeneration)",
            ])
        return try APIResponse.json(try issued.response())
    }

    /// Whether `text` has the form of a join token id (`jt_` and URL-safe
    /// characters), so that what reaches the database is text it can hold.
    static func couldBeTokenID(_ text: String) -> Bool {
        text.utf8.count <= 64 && text.hasPrefix("jt_")
            && text.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    return true
                default:
                    return false
                }
            }
    }

    /// The identity the caller's TLS client certificate proves, if it may renew:
    /// the handshake verified its chain to a trusted root and the caller's
    /// possession of its key; here it must also be within its validity, carry
    /// one SPIFFE ID of this trust domain, and not be revoked.
    private func renewalIdentity(_ context: Context, now: Int64) async throws -> (SPIFFEID, CertificateSerial) {
        guard let info = await context.channel.tlsHandshakeInfo(), let certificate = info.peerCertificate else {
            throw CAError(
                .certificateRejected,
                "send a join_token for a first certificate, or present your current certificate over mutual TLS to renew it"
            )
        }
        let serial = try CertificateSerial(validating: certificate.serialHex)
        guard certificate.notAfter > now else {
            throw CAError(
                .certificateRejected,
                "certificate \(serial) expired at \(Timestamp(secondsSinceEpoch: certificate.notAfter)); get a new one with a join token"
            )
        }
        guard certificate.notBefore <= now + 300 else {
            throw CAError(.certificateRejected, "certificate \(serial) is not valid yet")
        }
        guard !authorities.snapshot.revokedSerials.contains(serial.hex) else {
            throw CAError(
                .certificateRejected, "certificate \(serial) has been revoked; get a new one with a join token")
        }
        let names = certificate.uriSubjectAlternativeNames.filter { $0.hasPrefix("spiffe://") }
        guard names.count == 1, let identity = try? SPIFFEID(validating: names[0]),
            identity.trustDomain == configuration.trustDomain
        else {
            throw CAError(
                .certificateRejected,
                "certificate \(serial) does not carry exactly one SPIFFE ID of trust domain \(configuration.trustDomain)"
            )
        }
        guard identity.description != CAAuthorities.ownIdentity(trustDomain: configuration.trustDomain) else {
            throw CAError(.certificateRejected, "the CA's own certificate is not renewed through this endpoint")
        }
        return (identity, serial)
    }

    static func entry(_ issued: WorkloadSigner.Issued, via: IssuanceVia) -> LedgerEntry {
        LedgerEntry(
            serial: issued.serial, identity: issued.identity,
            notBefore: Timestamp(secondsSinceEpoch: issued.notBefore),
            notAfter: Timestamp(secondsSinceEpoch: issued.notAfter), issuerGeneration: issued.issuerGeneration,
            via: via)
    }

    // MARK: Parameters

    private func root(_ generation: Int) throws -> RootRecord {
        guard let record = authorities.snapshot.roots.first(where: { $0.generation == generation }) else {
            throw CAError(.notFound, "no root generation \(generation)")
        }
        return record
    }

    static func serial(_ text: String) throws(ProtocolError) -> CertificateSerial {
        do {
            return try CertificateSerial(validating: text)
        } catch {
            throw ProtocolError(field: "serial", error.reason)
        }
    }

    static func generation(_ text: String) throws(ProtocolError) -> Int {
        guard let value = Int(text), (1...9999).contains(value) else {
            throw ProtocolError(field: "generation", "must be a whole number from 1 to 9999, got \(text.prefix(40))")
        }
        return value
    }
}
