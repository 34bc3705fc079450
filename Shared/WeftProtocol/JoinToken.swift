/// A join token as the CA lists it: everything but the secret, which is shown once
/// at creation (`JoinTokenCreated`) and stored only as a hash.
public struct JoinToken: Codable, Hashable, Sendable {
    /// A public handle for listing and revoking (not the secret).
    public var id: String
    public var identity: SPIFFEID
    public var createdAt: Timestamp
    public var expiresAt: Timestamp
    public var maximumUses: Int
    public var uses: Int
    public var revokedAt: Timestamp?

    public init(
        id: String, identity: SPIFFEID, createdAt: Timestamp, expiresAt: Timestamp, maximumUses: Int, uses: Int = 0,
        revokedAt: Timestamp? = nil
    ) throws(ProtocolError) {
        guard (1...64).contains(id.utf8.count),
            id.utf8.allSatisfy({ DNSLabel.isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") })
        else {
            throw ProtocolError(field: "id", "must be 1 to 64 letters, digits, '-' or '_'")
        }
        guard createdAt < expiresAt else { throw ProtocolError(field: "expires_at", "must be after created_at") }
        guard (1...1000).contains(maximumUses) else {
            throw ProtocolError(field: "max_uses", "must be between 1 and 1000")
        }
        guard (0...maximumUses).contains(uses) else {
            throw ProtocolError(field: "uses", "must be between 0 and max_uses")
        }
        self.id = id
        self.identity = identity
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.maximumUses = maximumUses
        self.uses = uses
        self.revokedAt = revokedAt
    }

    /// Whether a workload may still use this token at `now`.
    public func isUsable(at now: Timestamp) -> Bool {
        revokedAt == nil && now < expiresAt && uses < maximumUses
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(
            decoder, fields: ["id", "identity", "created_at", "expires_at", "max_uses", "uses", "revoked_at"])
        let id: String = try object.required("id")
        let identity: SPIFFEID = try object.required("identity")
        let createdAt: Timestamp = try object.required("created_at")
        let expiresAt: Timestamp = try object.required("expires_at")
        let maximumUses: Int = try object.required("max_uses")
        let uses: Int = try object.optional("uses", default: 0)
        let revokedAt: Timestamp? = try object.optional("revoked_at")
        self = try object.validate { () throws(ProtocolError) in
            try JoinToken(
                id: id, identity: identity, createdAt: createdAt, expiresAt: expiresAt, maximumUses: maximumUses,
                uses: uses, revokedAt: revokedAt)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(id, "id")
        try object.encode(identity, "identity")
        try object.encode(createdAt, "created_at")
        try object.encode(expiresAt, "expires_at")
        try object.encode(maximumUses, "max_uses")
        try object.encode(uses, "uses")
        try object.encode(revokedAt, "revoked_at")
    }
}

/// The answer to creating a join token: its listing, plus the secret, shown this
/// once and never again.
public struct JoinTokenCreated: Codable, Hashable, Sendable {
    public var token: JoinToken
    public var secret: JoinTokenSecret

    public init(token: JoinToken, secret: JoinTokenSecret) {
        self.token = token
        self.secret = secret
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["token", "secret"])
        self.init(token: try object.required("token"), secret: try object.required("secret"))
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(token, "token")
        try object.encode(secret, "secret")
    }
}
