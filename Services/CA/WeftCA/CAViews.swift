import WeftProtocol

/// How the admin API shows ledger entries and roots (snake_case members, like
/// every Weft API; absent values are omitted or null as documented).
struct CertificateView: Encodable {
    var entry: LedgerEntry

    enum Key: String, CodingKey {
        case serial, identity, via
        case notBefore = "not_before"
        case notAfter = "not_after"
        case issuerGeneration = "issuer_generation"
        case issuedAt = "issued_at"
        case joinTokenID = "join_token_id"
        case renewedSerial = "renewed_serial"
        case revokedAt = "revoked_at"
        case revocationReason = "revocation_reason"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(entry.serial, forKey: .serial)
        try container.encode(entry.identity, forKey: .identity)
        try container.encode(entry.notBefore, forKey: .notBefore)
        try container.encode(entry.notAfter, forKey: .notAfter)
        try container.encode(entry.issuerGeneration, forKey: .issuerGeneration)
        try container.encodeIfPresent(entry.issuedAt, forKey: .issuedAt)
        try container.encode(entry.via, forKey: .via)
        try container.encode(entry.joinTokenID, forKey: .joinTokenID)
        try container.encode(entry.renewedSerial, forKey: .renewedSerial)
        try container.encode(entry.revokedAt, forKey: .revokedAt)
        try container.encode(entry.revocationReason, forKey: .revocationReason)
    }
}

struct RootView: Encodable {
    var record: RootRecord

    enum Key: String, CodingKey {
        case generation, state, certificate, authority
        case createdAt = "created_at"
        case activatedAt = "activated_at"
        case retiredAt = "retired_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(record.generation, forKey: .generation)
        try container.encode(record.state, forKey: .state)
        try container.encode(record.anchorPEM, forKey: .certificate)
        try container.encode(record.authorityPEM, forKey: .authority)
        try container.encode(record.createdAt, forKey: .createdAt)
        try container.encode(record.activatedAt, forKey: .activatedAt)
        try container.encode(record.retiredAt, forKey: .retiredAt)
    }
}
