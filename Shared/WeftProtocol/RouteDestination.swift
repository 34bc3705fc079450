/// Where a route sends its share of traffic: a service, optionally narrowed to the
/// instances carrying all of `subset`'s labels (`version: 2.1.0`), with a `weight`
/// in percent. A route's weights sum to 100; a lone destination may omit it.
public struct RouteDestination: Codable, Hashable, Sendable {
    public var service: ServiceName
    public var namespace: NamespaceName
    public var subset: Labels
    /// Percent of the route's traffic, 0 to 100.
    public var weight: Int

    public init(service: ServiceName, namespace: NamespaceName = .default, subset: Labels = [:], weight: Int = 100)
        throws(ProtocolError)
    {
        guard (0...100).contains(weight) else {
            throw ProtocolError(field: "weight", "must be between 0 and 100, got \(weight)")
        }
        self.service = service
        self.namespace = namespace
        self.subset = subset
        self.weight = weight
    }

    public var reference: ServiceReference { ServiceReference(service: service, namespace: namespace) }

    /// Decoded weight, remembering whether it was given (see `RouteRule`).
    struct Decoded: Decodable {
        var destination: RouteDestination
        var weightGiven: Bool

        init(from decoder: any Decoder) throws {
            let object = try JSONObject(decoder, fields: ["service", "namespace", "subset", "weight"])
            let service: ServiceName = try object.required("service")
            let namespace: NamespaceName = try object.optional("namespace", default: .default)
            let subset: Labels = try object.optional("subset", default: [:])
            let weight: Int? = try object.optional("weight")
            self.weightGiven = weight != nil
            self.destination = try object.validate { () throws(ProtocolError) in
                try RouteDestination(service: service, namespace: namespace, subset: subset, weight: weight ?? 100)
            }
        }
    }

    public init(from decoder: any Decoder) throws {
        self = try Decoded(from: decoder).destination
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(service, "service")
        try object.encode(namespace, "namespace")
        if !subset.isEmpty { try object.encode(subset, "subset") }
        try object.encode(weight, "weight")
    }
}
