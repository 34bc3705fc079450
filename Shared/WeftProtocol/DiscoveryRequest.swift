/// What a proxy asks the registry for. A sidecar names its own service (to receive
/// the intentions guarding it) and the upstreams it calls; a gateway names itself to
/// receive its route table and the upstreams those routes reach. Who is asking is
/// proven by the proxy's certificate; this only scopes the answer.
///
/// The blocking query's `index` and `wait` travel as URL parameters (Consul style),
/// not in this body; see `DiscoveryQuery`.
public struct DiscoveryRequest: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Sendable {
        case sidecar, gateway

        public init(from decoder: any Decoder) throws {
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let value = Kind(rawValue: text) else {
                throw ProtocolError(
                    FieldPath(decoder.codingPath),
                    "unknown proxy kind \"\(text.prefix(40))\"; expected sidecar or gateway")
            }
            self = value
        }
    }

    public var kind: Kind
    /// The sidecar's own service, or the gateway's name.
    public var service: ServiceReference
    public var upstreams: [ServiceReference]

    public init(kind: Kind, service: ServiceReference, upstreams: [ServiceReference] = []) throws(ProtocolError) {
        guard upstreams.count <= ProtocolLimits.upstreamsPerRequest else {
            throw ProtocolError(
                field: "upstreams", "has \(upstreams.count) entries; the limit is \(ProtocolLimits.upstreamsPerRequest)"
            )
        }
        guard Set(upstreams).count == upstreams.count else {
            throw ProtocolError(field: "upstreams", "lists a service twice")
        }
        self.kind = kind
        self.service = service
        self.upstreams = upstreams
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["kind", "service", "upstreams"])
        let kind: Kind = try object.required("kind")
        let service: ServiceReference = try object.required("service")
        let upstreams: [ServiceReference] = try object.list("upstreams", limit: ProtocolLimits.upstreamsPerRequest)
        self = try object.validate { () throws(ProtocolError) in
            try DiscoveryRequest(kind: kind, service: service, upstreams: upstreams)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(kind, "kind")
        try object.encode(service, "service")
        try object.encode(upstreams, "upstreams")
    }
}
