public import WeftProtocol

/// Where an authority generation stands in its life.
public enum RootState: String, Sendable, Codable {
    /// In the trust bundle, not signing yet: proxies learn to trust it first.
    case published
    /// In the bundle and signing every new certificate (exactly one at a time).
    case active
    /// Out of the bundle: every certificate it signed has expired or been revoked.
    case retired
}

/// One authority generation as the database records it.
public struct RootRecord: Sendable, Equatable {
    public var generation: Int
    public var state: RootState
    /// The certificate proxies trust (the generation's self-signed root, or the
    /// operator's root above an intermediate).
    public var anchorPEM: String
    /// The certificate that signs (equal to the anchor when self-signed).
    public var authorityPEM: String
    public var createdAt: Timestamp
    public var activatedAt: Timestamp?
    public var retiredAt: Timestamp?
}

/// How a certificate was authorized.
public enum IssuanceVia: String, Sendable, Codable {
    case joinToken = "join-token"
    case renewal
}

/// One issued certificate in the ledger.
public struct LedgerEntry: Sendable, Equatable {
    public var serial: CertificateSerial
    public var identity: SPIFFEID
    public var notBefore: Timestamp
    public var notAfter: Timestamp
    public var issuerGeneration: Int
    public var issuedAt: Timestamp?
    public var via: IssuanceVia
    public var joinTokenID: String?
    public var renewedSerial: CertificateSerial?
    public var revokedAt: Timestamp?
    public var revocationReason: String?
}

/// What a CA replica serves from memory: the bundle's version and contents,
/// the roots, and the serials revoked before their expiry.
public struct CASnapshot: Sendable {
    public var bundleVersion: UInt64
    public var roots: [RootRecord]
    /// Revoked serials whose certificates have not expired yet.
    public var revokedSerials: Set<String>

    /// Anchors of the published and active generations, oldest first, each once
    /// (generations under one operator root share an anchor).
    public var trustedAnchorPEMs: [String] {
        var seen = Set<String>()
        return roots.filter { $0.state != .retired }.map(\.anchorPEM).filter { seen.insert($0).inserted }
    }

    public var active: RootRecord? { roots.first { $0.state == .active } }
}
