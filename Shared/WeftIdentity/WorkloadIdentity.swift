public import Logging
internal import NIOConcurrencyHelpers
public import NIOCore
public import WeftProtocol
public import WeftService
public import WeftTLS

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where a proxy's mesh identity comes from.
public enum IdentitySource: Sendable {
    /// Files an operator provides and renews (read once at start).
    case files(certificate: String, key: String, bundle: String, revoked: Set<String>)
    /// weft-ca: a join token the first time, then renewal by the proxy itself.
    case authority(AuthorityEnrollment)
}

/// How a proxy joins the mesh through weft-ca and keeps its identity.
public struct AuthorityEnrollment: Sendable {
    /// What the proxy trusts before it has talked to the CA: never the first
    /// answer it gets (no trust on first use).
    public enum Anchors: Sendable {
        /// A PEM file of the CA's roots (the CA writes `trust-bundle.pem`).
        case bundleFile(String)
        /// The SHA-256 of one root's DER (lowercase hex): the bundle is fetched
        /// unverified once, and only the root with this hash is kept.
        case fingerprint(String)
    }

    public var authority: ControlPlaneClient.Endpoint
    public var anchors: Anchors
    /// The operator's join token; needed only while the data directory holds no
    /// valid certificate.
    public var joinTokenFile: String?
    /// Key, chain and bundle are kept here (0700; the key 0600).
    public var dataDirectory: String
    /// When to renew, as a share of the certificate's lifetime (plus up to a
    /// fifth of that again as jitter, so a fleet does not renew in step).
    public var renewAt: Double = 0.5
    /// How often the trust bundle is polled (with its ETag).
    public var bundleRefresh: TimeAmount = .seconds(30)
    /// How long a start without any certificate keeps trying an unreachable CA.
    public var startupWait: TimeAmount = .seconds(60)

    public init(authority: ControlPlaneClient.Endpoint, anchors: Anchors, joinTokenFile: String?, dataDirectory: String)
    {
        self.authority = authority
        self.anchors = anchors
        self.joinTokenFile = joinTokenFile
        self.dataDirectory = dataDirectory
    }
}

/// A proxy's mesh identity while it runs: the certificate, key and trust bundle
/// behind both sides of the mesh hop, replaced at runtime when the certificate
/// is renewed or the bundle changes. New connections take the new material;
/// established ones keep theirs, so nothing in flight is dropped.
///
/// With weft-ca, the first certificate comes from a join token; afterwards the
/// proxy renews over mutual TLS at `renewAt` of the lifetime, retrying with
/// capped backoff while the CA is away, and polls the bundle for new roots and
/// revocations. Everything is persisted in the data directory, so a restart
/// with the whole control plane gone comes back from disk.
public final class WorkloadIdentity: Sendable {
    public let identity: SPIFFEID
    public let trustDomain: String
    /// The TLS contexts of the inbound (server) and outbound (client) mesh sides.
    public let server: TLSContextProvider
    public let client: TLSContextProvider

    private struct State {
        var material: MeshMaterial
        var bundleTag: String?
        var task: Task<Void, Never>?
        var renewals = 0
    }

    private let state: NIOLockedValueBox<State>
    private let enrollment: AuthorityEnrollment?
    /// ALPN of the two providers: `h2` for proxies, `http/1.1` for an API.
    private let applicationProtocols: [String]
    private let authorityClient: AuthorityClient?
    private let logger: Logger

    private init(
        identity: SPIFFEID, trustDomain: String, material: MeshMaterial, bundleTag: String?,
        enrollment: AuthorityEnrollment?, authorityClient: AuthorityClient?, applicationProtocols: [String],
        logger: Logger
    ) throws(StartupError) {
        self.identity = identity
        self.trustDomain = trustDomain
        self.applicationProtocols = applicationProtocols
        self.server = TLSContextProvider(
            try material.context(role: .server, trustDomain: trustDomain, applicationProtocols: applicationProtocols))
        self.client = TLSContextProvider(
            try material.context(role: .client, trustDomain: trustDomain, applicationProtocols: applicationProtocols))
        self.state = NIOLockedValueBox(State(material: material, bundleTag: bundleTag))
        self.enrollment = enrollment
        self.authorityClient = authorityClient
        self.logger = logger
    }

    /// The current certificate's expiry (seconds since 1970).
    public var notAfter: Int64 { state.withLockedValue { $0.material.notAfter } }
    /// The current material.
    public var material: MeshMaterial { state.withLockedValue { $0.material } }
    /// Whether the certificate comes from weft-ca and is renewed by the proxy.
    public var renewsItself: Bool { enrollment != nil }
    /// Certificates obtained from the CA since start (renewals).
    public var renewals: Int { state.withLockedValue { $0.renewals } }

    /// Obtains the identity before any port opens. Called off the event loops
    /// (it waits for the CA). Errors say which input is at fault.
    public static func obtain(
        _ source: IdentitySource, identity: SPIFFEID, group: any EventLoopGroup, logger: Logger,
        applicationProtocols: [String] = ["h2"]
    ) throws(StartupError) -> WorkloadIdentity {
        let trustDomain = identity.trustDomain
        switch source {
        case .files(let certificate, let key, let bundle, let revoked):
            let material = try MeshMaterial.load(
                certificateFile: certificate, keyFile: key, bundleFile: bundle, revokedSerials: revoked,
                expecting: identity.description)
            return try WorkloadIdentity(
                identity: identity, trustDomain: trustDomain, material: material, bundleTag: nil, enrollment: nil,
                authorityClient: nil, applicationProtocols: applicationProtocols, logger: logger)
        case .authority(let enrollment):
            let client = AuthorityClient(endpoint: enrollment.authority, group: group, trustDomain: trustDomain)
            let (material, tag) = try Enrollment(
                settings: enrollment, client: client, identity: identity, logger: logger
            ).run()
            return try WorkloadIdentity(
                identity: identity, trustDomain: trustDomain, material: material, bundleTag: tag,
                enrollment: enrollment, authorityClient: client, applicationProtocols: applicationProtocols,
                logger: logger)
        }
    }

    /// Starts renewing and polling the bundle (weft-ca only).
    public func start() {
        guard let enrollment, let authorityClient else { return }
        let task = Task { [self] in
            await maintain(enrollment, authorityClient)
        }
        state.withLockedValue { $0.task = task }
    }

    public func stop() {
        state.withLockedValue { $0.task?.cancel() }
    }

    /// A control-plane client (the registry over mutual TLS) presenting this
    /// identity's current certificate on every new connection and requiring the
    /// server to be `peer` (`spiffe://<td>/ns/weft-system/sa/weft-registry`).
    public func controlPlaneClient(
        endpoint: ControlPlaneClient.Endpoint, group: any EventLoopGroup, peer: String
    ) -> ControlPlaneClient {
        let host = endpoint.host
        let serverName: String? = host.contains(":") || !host.contains(where: \.isLetter) ? nil : host
        return ControlPlaneClient(endpoint: endpoint, group: group) { [self] in
            let context = try material.context(
                role: .client, trustDomain: trustDomain, applicationProtocols: ["http/1.1"])
            return try TLSHandler(context: context, expectedPeerIdentity: peer, serverName: serverName)
        }
    }

    /// The registry's identity in `trustDomain`.
    public static func registryIdentity(trustDomain: String) -> String {
        "spiffe://\(trustDomain)/ns/weft-system/sa/weft-registry"
    }

    // MARK: Renewal and bundle polling

    private func maintain(_ settings: AuthorityEnrollment, _ client: AuthorityClient) async {
        var renewAt = Self.renewalTime(for: material, share: settings.renewAt)
        var nextPoll = NIODeadline.now() + settings.bundleRefresh
        var failures = 0
        logger.info(
            "mesh certificate renews in \(max(0, renewAt - Self.unixTime()))s",
            metadata: ["identity": "\(identity)", "expires": "\(Self.describe(notAfter))"])
        while !Task.isCancelled {
            let now = Self.unixTime()
            if now >= renewAt {
                do {
                    try await renew(settings, client)
                    failures = 0
                    renewAt = Self.renewalTime(for: material, share: settings.renewAt)
                    logger.info(
                        "mesh certificate renewed",
                        metadata: [
                            "serial": "\(material.chain[0].serialHex)", "expires": "\(Self.describe(notAfter))",
                            "next_renewal_in": "\(renewAt - Self.unixTime())s",
                        ])
                } catch {
                    failures += 1
                    // Capped exponential backoff: 1 s, 2 s, 4 s … 60 s.
                    let delay = Int64(min(60, 1 << min(failures - 1, 6)))
                    renewAt = Self.unixTime() + delay
                    let remaining = notAfter - Self.unixTime()
                    let message = "cannot renew the mesh certificate (attempt \(failures), next in \(delay)s): \(error)"
                    if remaining <= 0 {
                        logger.critical("\(message); the certificate has EXPIRED and peers refuse it")
                    } else if Double(remaining) < Double(material.lifetime) * 0.2 {
                        logger.error("\(message); it expires in \(remaining)s")
                    } else {
                        logger.warning("\(message); it expires in \(remaining)s")
                    }
                }
            }
            if NIODeadline.now() >= nextPoll {
                await refreshBundle(client)
                nextPoll = NIODeadline.now() + settings.bundleRefresh
            }
            let untilRenewal = TimeAmount.seconds(max(0, renewAt - Self.unixTime()))
            let untilPoll = nextPoll - NIODeadline.now()
            let wait = max(.milliseconds(50), min(untilRenewal, untilPoll))
            try? await Task.sleep(nanoseconds: UInt64(wait.nanoseconds))
        }
    }

    private func renew(_ settings: AuthorityEnrollment, _ client: AuthorityClient) async throws {
        let current = material
        // A new key for every certificate: a key that leaked is worth nothing
        // after the next renewal (the CA signs over mutual TLS with the current one).
        let key = try PrivateKey.generateP256()
        let csr = try CertificateRequest.create(key: key, uri: identity.description).pemString()
        let signed = try await client.sign(
            csr: csr, joinToken: nil, anchors: current.bundle, revoked: current.revoked,
            presenting: (current.chain, current.key)
        ).get()
        let chain = try Certificate.chain(pem: signed.chain.text)
        let renewed = MeshMaterial(chain: chain, key: key, bundle: current.bundle, revoked: current.revoked)
        try renewed.check(expecting: identity.description)
        try Enrollment.persistRenewal(chain: signed.chain.text, key: key, in: settings.dataDirectory)
        try apply(renewed)
        state.withLockedValue { $0.renewals += 1 }
    }

    private func refreshBundle(_ client: AuthorityClient) async {
        let (current, tag) = state.withLockedValue { ($0.material, $0.bundleTag) }
        do {
            guard
                let (bundle, newTag) = try await client.bundle(
                    etag: tag, anchors: current.bundle, revoked: current.revoked,
                    presenting: (current.chain, current.key)
                ).get()
            else { return }
            let roots = try bundle.roots.map { try Certificate(pem: $0.text) }
            let revoked = Set(bundle.revokedSerials.map(\.description))
            guard
                roots.map({ try? $0.pemString() }) != current.bundle.map({ try? $0.pemString() })
                    || revoked != current.revoked
            else {
                state.withLockedValue { $0.bundleTag = newTag }
                return
            }
            if let directory = enrollment?.dataDirectory { try Enrollment.persistBundle(bundle, in: directory) }
            try apply(MeshMaterial(chain: current.chain, key: current.key, bundle: roots, revoked: revoked))
            state.withLockedValue { $0.bundleTag = newTag }
            logger.notice(
                "trust bundle updated",
                metadata: ["version": "\(bundle.version)", "roots": "\(roots.count)", "revoked": "\(revoked.count)"])
        } catch {
            logger.warning("cannot refresh the trust bundle (keeping the current one): \(error)")
        }
    }

    /// New connections use `material` from now on.
    private func apply(_ material: MeshMaterial) throws {
        let server = try material.context(
            role: .server, trustDomain: trustDomain, applicationProtocols: applicationProtocols)
        let client = try material.context(
            role: .client, trustDomain: trustDomain, applicationProtocols: applicationProtocols)
        self.server.update(server)
        self.client.update(client)
        state.withLockedValue { $0.material = material }
    }

    static func renewalTime(for material: MeshMaterial, share: Double) -> Int64 {
        let lifetime = material.lifetime
        let base = Int64(Double(lifetime) * share)
        let jitter = base >= 5 ? Int64.random(in: 0..<(base / 5)) : 0
        return material.chain[0].notBefore + base + jitter
    }

    static func unixTime() -> Int64 { Int64(Date().timeIntervalSince1970) }

    static func describe(_ time: Int64) -> String {
        Timestamp(secondsSinceEpoch: time).description
    }
}
