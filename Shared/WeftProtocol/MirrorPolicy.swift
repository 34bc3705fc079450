/// Sends a copy of a share of a route's requests to another service, fire and
/// forget: the mirror's response and failures never reach the caller.
public struct MirrorPolicy: Codable, Hashable, Sendable {
    public var service: ServiceName
    public var namespace: NamespaceName
    public var percent: Double

    public init(service: ServiceName, namespace: NamespaceName = .default, percent: Double = 100) throws(ProtocolError)
    {
        try Percent.validate(percent, field: "percent")
        self.service = service
        self.namespace = namespace
        self.percent = percent
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["service", "namespace", "percent"])
        let service: ServiceName = try object.required("service")
        let namespace: NamespaceName = try object.optional("namespace", default: .default)
        let percent: Double = try object.optional("percent", default: 100)
        self = try object.validate { () throws(ProtocolError) in
            try MirrorPolicy(service: service, namespace: namespace, percent: percent)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(service, "service")
        try object.encode(namespace, "namespace")
        try object.encode(percent, "percent")
    }
}
