/// Everything a proxy needs to call one upstream service: its protocol, the
/// endpoints that receive traffic, its traffic policy, and the routes for calls to
/// it (empty: send every call to the service as a whole).
public struct UpstreamSnapshot: Codable, Hashable, Sendable {
    public var service: ServiceReference
    public var protocolKind: ServiceProtocol
    public var endpoints: [Endpoint]
    public var policy: TrafficPolicy
    public var routes: RouteTable

    public init(
        service: ServiceReference, protocol protocolKind: ServiceProtocol, endpoints: [Endpoint], policy: TrafficPolicy,
        routes: RouteTable
    ) throws(ProtocolError) {
        guard endpoints.count <= ProtocolLimits.endpointsPerService else {
            throw ProtocolError(
                field: "endpoints", "has \(endpoints.count) entries; the limit is \(ProtocolLimits.endpointsPerService)"
            )
        }
        guard policy.reference == service else {
            throw ProtocolError(field: "policy", "is for \(policy.reference), not \(service)")
        }
        self.service = service
        self.protocolKind = protocolKind
        self.endpoints = endpoints
        self.policy = policy
        self.routes = routes
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["service", "protocol", "endpoints", "policy", "routes"])
        let service: ServiceReference = try object.required("service")
        let protocolKind: ServiceProtocol = try object.optional("protocol", default: .http)
        let endpoints: [Endpoint] = try object.list("endpoints", limit: ProtocolLimits.endpointsPerService)
        let policy: TrafficPolicy =
            try object.optional("policy") ?? TrafficPolicy(service: service.service, namespace: service.namespace)
        let routes: RouteTable = try object.optional("routes", default: .empty)
        self = try object.validate { () throws(ProtocolError) in
            try UpstreamSnapshot(
                service: service, protocol: protocolKind, endpoints: endpoints, policy: policy, routes: routes)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(service, "service")
        try object.encode(protocolKind, "protocol")
        try object.encode(endpoints, "endpoints")
        try object.encode(policy, "policy")
        try object.encode(routes, "routes")
    }
}
