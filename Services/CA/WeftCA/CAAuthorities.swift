import Logging
import Synchronization
import WeftProtocol
import WeftTLS

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What one CA replica serves from memory, kept in step with PostgreSQL by the
/// follower: the snapshot (bundle version, roots, revoked serials), the
/// authorities loaded from the data directory, the encoded trust bundle, and
/// the TLS context of the CA's own listener (its serving certificate, and the
/// bundle's anchors as the roots client certificates must chain to).
final class CAAuthorities: Sendable {
    struct Current {
        var snapshot: CASnapshot
        var store: AuthorityStore
        var bundleBody: [UInt8]
        var serving: Serving
    }

    /// The CA's own certificate for its listener.
    struct Serving {
        var chain: [Certificate]
        var key: PrivateKey
        var generation: Int
        var issuedAt: Int64
        var notAfter: Int64
    }

    let configuration: CAConfiguration
    let contexts: TLSContextProvider
    private let current: Mutex<Current>
    private let applying = Mutex(())

    /// The identity the CA's serving certificate carries.
    static func ownIdentity(trustDomain: String) -> String {
        "spiffe://\(trustDomain)/ns/weft-system/sa/weft-ca"
    }

    init(configuration: CAConfiguration, store: AuthorityStore, snapshot: CASnapshot) throws {
        self.configuration = configuration
        let serving = try Self.issueServing(configuration, store: store, snapshot: snapshot)
        let body = try Self.encodeBundle(configuration.trustDomain, snapshot)
        contexts = TLSContextProvider(try Self.context(serving, snapshot))
        current = Mutex(Current(snapshot: snapshot, store: store, bundleBody: body, serving: serving))
    }

    var snapshot: CASnapshot { current.withLock { $0.snapshot } }
    var loadedAuthorities: [Authority] { current.withLock { $0.store.authorities } }
    var bundleBody: (version: UInt64, body: [UInt8]) {
        current.withLock { ($0.snapshot.bundleVersion, $0.bundleBody) }
    }

    /// The signer for the active generation.
    func signer() throws(CAError) -> WorkloadSigner {
        let (snapshot, store) = current.withLock { ($0.snapshot, $0.store) }
        guard let active = snapshot.active else {
            throw CAError(.authorityUnusable, "no root generation is active")
        }
        guard let authority = store.authorities.first(where: { $0.generation == active.generation }) else {
            throw CAError(
                .authorityUnusable,
                "the active root generation \(active.generation) is not in this replica's data directory")
        }
        return WorkloadSigner(
            authority: authority, trustDomain: configuration.trustDomain, lifetime: configuration.certificateLifetime)
    }

    /// Creates the next generation on disk (the caller records it as published).
    func createGeneration() throws(CAError) -> Authority {
        try current.withLock { current throws(CAError) in
            try current.store.createNext(now: Self.now())
        }
    }

    /// Takes a new snapshot: reloads the data directory when the database names a
    /// generation this replica has not loaded (another replica sharing the
    /// directory created it), re-encodes the bundle, and renews the serving
    /// certificate when the active generation changed or it is past half-life.
    /// Returns whether the bundle changed.
    ///
    /// Applies run one at a time, and a snapshot older than the one applied is
    /// ignored: a handler reloading after its own write and the follower's
    /// slower load can finish in either order, and the older one must not undo
    /// the newer (a revocation would briefly vanish, and its certificate renew).
    @discardableResult
    func apply(_ snapshot: CASnapshot, logger: Logger) throws -> Bool {
        try applying.withLock { _ in try applyInOrder(snapshot, logger: logger) }
    }

    private func applyInOrder(_ snapshot: CASnapshot, logger: Logger) throws -> Bool {
        let (old, store, serving) = current.withLock { ($0.snapshot, $0.store, $0.serving) }
        guard snapshot.bundleVersion >= old.bundleVersion else { return false }
        var authorities = store
        let loaded = Set(store.authorities.map(\.generation))
        if snapshot.roots.contains(where: { !loaded.contains($0.generation) }) {
            authorities = try AuthorityStore.open(store.configuration, now: Self.now())
        }
        let bundleChanged =
            old.bundleVersion != snapshot.bundleVersion || old.trustedAnchorPEMs != snapshot.trustedAnchorPEMs
        let now = Self.now()
        let halfLife = serving.issuedAt + (serving.notAfter - serving.issuedAt) / 2
        var renewed = serving
        if snapshot.active?.generation != serving.generation || now >= halfLife {
            renewed = try Self.issueServing(configuration, store: authorities, snapshot: snapshot)
            logger.info(
                "serving certificate issued",
                metadata: [
                    "generation": "\(renewed.generation)",
                    "not_after": "\(Timestamp(secondsSinceEpoch: renewed.notAfter))",
                ])
        }
        let body = bundleChanged ? try Self.encodeBundle(configuration.trustDomain, snapshot) : nil
        if bundleChanged || renewed.issuedAt != serving.issuedAt {
            contexts.update(try Self.context(renewed, snapshot))
        }
        current.withLock { current in
            current.snapshot = snapshot
            current.store = authorities
            current.serving = renewed
            if let body { current.bundleBody = body }
        }
        if bundleChanged {
            logger.info(
                "trust bundle changed",
                metadata: [
                    "version": "\(snapshot.bundleVersion)", "roots": "\(snapshot.trustedAnchorPEMs.count)",
                    "revoked": "\(snapshot.revokedSerials.count)",
                ])
            writeBundleFile(snapshot, logger: logger)
        }
        return bundleChanged
    }

    /// `<data-dir>/trust-bundle.pem`: the anchors, for operators and tools that
    /// need to trust the CA's listener (`curl --cacert`) and for bootstrapping
    /// workloads. Written to a temporary name and renamed, so readers never see
    /// half a file.
    func writeBundleFile(_ snapshot: CASnapshot? = nil, logger: Logger) {
        let anchors = (snapshot ?? self.snapshot).trustedAnchorPEMs.joined()
        let path = configuration.dataDirectory + "/trust-bundle.pem"
        let scratch = path + ".new-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try Data(anchors.utf8).write(to: URL(fileURLWithPath: scratch))
            guard rename(scratch, path) == 0 else {
                unlink(scratch)
                throw CAError(.internalFailure, "rename: \(String(cString: strerror(errno)))")
            }
        } catch {
            logger.warning("cannot write the trust bundle file", metadata: ["file": "\(path)", "error": "\(error)"])
        }
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    static func issueServing(_ configuration: CAConfiguration, store: AuthorityStore, snapshot: CASnapshot) throws
        -> Serving
    {
        guard let active = snapshot.active,
            let authority = store.authorities.first(where: { $0.generation == active.generation })
        else {
            throw CAError(
                .authorityUnusable, "the active root generation is not in this replica's data directory")
        }
        let now = Self.now()
        let key = try PrivateKey.generateP256()
        // A day, renewed at half-life (and whenever another generation becomes
        // active), whatever lifetime workload certificates have.
        let notAfter = min(now + 86_400, authority.certificate.notAfter)
        let leaf = try authority.issuer.issueLeaf(
            for: key, uri: ownIdentity(trustDomain: configuration.trustDomain),
            dnsNames: configuration.serverNames.filter { !Self.isAddress($0) },
            ipAddresses: configuration.serverNames.filter(Self.isAddress), notBefore: now - 300, notAfter: notAfter)
        return Serving(
            chain: [leaf] + authority.presentedChain, key: key, generation: active.generation, issuedAt: now,
            notAfter: notAfter)
    }

    static func isAddress(_ name: String) -> Bool {
        name.contains(":") || name.split(separator: ".").count == 4 && name.allSatisfy { $0.isNumber || $0 == "." }
    }

    /// The listener's TLS: our serving chain; client certificates asked for but
    /// optional (join-token and admin calls come without one), and when
    /// presented they must chain to one of this CA's own non-retired authority
    /// certificates — not merely to the bundle's anchor, which under an
    /// operator's root also vouches for whatever else that root signed. Validity
    /// periods are checked by the signing endpoint itself, so an expired
    /// certificate gets a problem document naming its expiry rather than a bare
    /// alert.
    static func context(_ serving: Serving, _ snapshot: CASnapshot) throws -> TLSContext {
        var seen = Set<String>()
        let authorities = snapshot.roots.filter { $0.state != .retired }.map(\.authorityPEM).filter {
            seen.insert($0).inserted
        }
        var configuration = TLSConfiguration(
            role: .server, certificateChain: serving.chain, privateKey: serving.key,
            trustRoots: try authorities.map { try Certificate(pem: $0) },
            requirePeerCertificate: false, applicationProtocols: ["http/1.1"])
        configuration.checkPeerValidityPeriod = false
        configuration.trustRootsMayBeIntermediates = true
        return try TLSContext(configuration)
    }

    static func encodeBundle(_ trustDomain: String, _ snapshot: CASnapshot) throws -> [UInt8] {
        let bundle = try TrustBundle(
            trustDomain: trustDomain, version: snapshot.bundleVersion,
            roots: try snapshot.trustedAnchorPEMs.map { try PEMDocument($0, label: "CERTIFICATE") },
            revokedSerials: try snapshot.revokedSerials.sorted().map(CertificateSerial.init(validating:)))
        return Array(try WeftJSON.encode(bundle))
    }
}
