/// How one side of a TLS connection is set up. Immutable: to change the
/// certificate, trust bundle or revocation list, build a new configuration and a
/// new `TLSContext`, and swap it into the `TLSContextProvider`; connections already
/// established keep the context they started with.
public struct TLSConfiguration: Sendable {
    public enum Role: Sendable { case server, client }

    public enum Version: Sendable {
        case tls12
        case tls13
    }

    public var role: Role
    /// Our certificate, leaf first, then intermediates (not the root).
    public var certificateChain: [Certificate]
    public var privateKey: PrivateKey?
    /// Roots the peer's chain must lead to. A server with none does not ask for
    /// client certificates (a public TLS port); a client always needs some, since it
    /// always verifies the server.
    public var trustRoots: [Certificate]
    /// Servers: refuse clients that present no certificate (mesh ports do).
    public var requirePeerCertificate: Bool
    /// Offered (client) or accepted (server), in preference order.
    public var applicationProtocols: [String]
    /// TLS 1.3 unless an operator allows 1.2.
    public var minimumVersion: Version
    /// Serials (lowercase hex, no leading zeros) refused anywhere in the peer's chain.
    public var revokedSerials: Set<String>
    /// When set, the peer's leaf must carry exactly one `spiffe://` URI SAN in this
    /// trust domain: a Weft workload.
    public var requireSPIFFEIdentity: Bool
    /// When set (with `requireSPIFFEIdentity`), the peer's SPIFFE ID must be in
    /// this trust domain: a bundle that also holds another mesh's roots does not
    /// let that mesh's workloads in.
    public var trustDomain: String?
    /// When false, a peer certificate outside its validity period still completes
    /// the handshake (the chain, signatures, and key possession are checked as
    /// always). Only for a server that checks validity itself and answers with a
    /// precise error instead of a bare TLS alert: the CA's renewal endpoint.
    public var checkPeerValidityPeriod = true
    /// When true, a trust root may be an intermediate: the peer's chain is
    /// accepted once it reaches one of `trustRoots`, self-signed or not. A CA
    /// under an operator's root trusts only its own intermediates this way, not
    /// everything else that root signed.
    public var trustRootsMayBeIntermediates = false
    /// Clients only, and only to fetch something whose content is checked
    /// another way: when false, the server's certificate is not verified at
    /// all. A proxy bootstrapping from a pinned root fingerprint fetches the
    /// CA's bundle this way, keeps only the root whose hash it was given, and
    /// verifies the CA against that root from then on.
    public var verifyPeer = true

    public init(
        role: Role, certificateChain: [Certificate] = [], privateKey: PrivateKey? = nil, trustRoots: [Certificate] = [],
        requirePeerCertificate: Bool = false, applicationProtocols: [String] = [], minimumVersion: Version = .tls13,
        revokedSerials: Set<String> = [], requireSPIFFEIdentity: Bool = false
    ) {
        self.role = role
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.trustRoots = trustRoots
        self.requirePeerCertificate = requirePeerCertificate
        self.applicationProtocols = applicationProtocols
        self.minimumVersion = minimumVersion
        self.revokedSerials = revokedSerials
        self.requireSPIFFEIdentity = requireSPIFFEIdentity
    }

    /// The mesh profile: TLS 1.3, ALPN `h2`, our certificate, the peer's required
    /// and verified against the bundle, SPIFFE identity required.
    public static func mesh(
        role: Role, certificateChain: [Certificate], privateKey: PrivateKey, trustRoots: [Certificate],
        revokedSerials: Set<String> = [], trustDomain: String? = nil
    ) -> TLSConfiguration {
        var configuration = TLSConfiguration(
            role: role, certificateChain: certificateChain, privateKey: privateKey, trustRoots: trustRoots,
            requirePeerCertificate: true, applicationProtocols: ["h2"], minimumVersion: .tls13,
            revokedSerials: revokedSerials, requireSPIFFEIdentity: true)
        configuration.trustDomain = trustDomain
        return configuration
    }
}
