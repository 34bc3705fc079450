/// The registry's answer to a discovery query: everything one proxy needs, at one
/// version of the catalog. Proxies swap it in whole (never half-applied) and
/// persist it, so they keep serving from it while the registry is away.
///
/// `version` is the registry's monotonic configuration version: the next blocking
/// query passes it back as `index`.
public struct DiscoverySnapshot: Codable, Hashable, Sendable {
    public var version: UInt64
    public var generatedAt: Timestamp
    public var defaults: MeshDefaults
    public var upstreams: [UpstreamSnapshot]
    /// The intentions guarding the asking sidecar's own service.
    public var inboundIntentions: [Intention]
    /// A gateway's route table; empty for sidecars.
    public var gatewayRoutes: RouteTable
    /// The traffic policy of the asking sidecar's own service (its inbound rate
    /// limit applies there); nil for gateways and when none is set.
    public var inboundPolicy: TrafficPolicy?

    public init(
        version: UInt64, generatedAt: Timestamp, defaults: MeshDefaults = .default, upstreams: [UpstreamSnapshot] = [],
        inboundIntentions: [Intention] = [], gatewayRoutes: RouteTable = .empty, inboundPolicy: TrafficPolicy? = nil
    ) throws(ProtocolError) {
        guard upstreams.count <= ProtocolLimits.upstreamsPerRequest else {
            throw ProtocolError(
                field: "upstreams", "has \(upstreams.count) entries; the limit is \(ProtocolLimits.upstreamsPerRequest)"
            )
        }
        var seen = Set<ServiceReference>()
        for (index, upstream) in upstreams.enumerated() where !seen.insert(upstream.service).inserted {
            throw ProtocolError(
                FieldPath([.key("upstreams"), .index(index), .key("service")]), "\(upstream.service) appears twice")
        }
        guard inboundIntentions.count <= ProtocolLimits.intentionsPerSnapshot else {
            throw ProtocolError(
                field: "inbound_intentions",
                "has \(inboundIntentions.count) entries; the limit is \(ProtocolLimits.intentionsPerSnapshot)")
        }
        self.version = version
        self.generatedAt = generatedAt
        self.defaults = defaults
        self.upstreams = upstreams
        self.inboundIntentions = inboundIntentions
        self.gatewayRoutes = gatewayRoutes
        self.inboundPolicy = inboundPolicy
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(
            decoder,
            fields: [
                "version", "generated_at", "defaults", "upstreams", "inbound_intentions", "gateway_routes",
                "inbound_policy",
            ])
        let version: UInt64 = try object.required("version")
        let generatedAt: Timestamp = try object.required("generated_at")
        let defaults: MeshDefaults = try object.optional("defaults", default: .default)
        let upstreams: [UpstreamSnapshot] = try object.list("upstreams", limit: ProtocolLimits.upstreamsPerRequest)
        let intentions: [Intention] = try object.list("inbound_intentions", limit: ProtocolLimits.intentionsPerSnapshot)
        let routes: RouteTable = try object.optional("gateway_routes", default: .empty)
        let inboundPolicy: TrafficPolicy? = try object.optional("inbound_policy")
        self = try object.validate { () throws(ProtocolError) in
            try DiscoverySnapshot(
                version: version, generatedAt: generatedAt, defaults: defaults, upstreams: upstreams,
                inboundIntentions: intentions, gatewayRoutes: routes, inboundPolicy: inboundPolicy)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(version, "version")
        try object.encode(generatedAt, "generated_at")
        try object.encode(defaults, "defaults")
        try object.encode(upstreams, "upstreams")
        try object.encode(inboundIntentions, "inbound_intentions")
        try object.encode(gatewayRoutes, "gateway_routes")
        try object.encode(inboundPolicy, "inbound_policy")
    }
}

extension RouteTable {
    public static let empty = try! RouteTable(routes: [])
}
