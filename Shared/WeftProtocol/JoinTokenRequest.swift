/// An operator's request for a join token: the one identity it vouches for, how
/// long it lives (1 minute to 30 days, 1 hour by default) and how many workloads
/// may use it (1 to 1,000, one by default).
public struct JoinTokenRequest: Codable, Hashable, Sendable {
    public var identity: SPIFFEID
    public var ttl: WeftDuration
    public var maximumUses: Int

    public static let ttlRange = WeftDuration.seconds(60)...WeftDuration.seconds(30 * 86400)

    public init(identity: SPIFFEID, ttl: WeftDuration = .seconds(3600), maximumUses: Int = 1) throws(ProtocolError) {
        try ttl.check(in: Self.ttlRange, field: "ttl")
        guard (1...1000).contains(maximumUses) else {
            throw ProtocolError(field: "max_uses", "must be between 1 and 1000, got \(maximumUses)")
        }
        self.identity = identity
        self.ttl = ttl
        self.maximumUses = maximumUses
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["identity", "ttl", "max_uses"])
        let identity: SPIFFEID = try object.required("identity")
        let ttl: WeftDuration = try object.optional("ttl", default: .seconds(3600))
        let uses: Int = try object.optional("max_uses", default: 1)
        self = try object.validate { () throws(ProtocolError) in
            try JoinTokenRequest(identity: identity, ttl: ttl, maximumUses: uses)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(identity, "identity")
        try object.encode(ttl, "ttl")
        try object.encode(maximumUses, "max_uses")
    }
}
