/// A service in the catalog: a name within a namespace and the protocol it speaks.
public struct Service: Codable, Hashable, Sendable {
    public var name: ServiceName
    public var namespace: NamespaceName
    public var protocolKind: ServiceProtocol

    public init(name: ServiceName, namespace: NamespaceName = .default, protocol protocolKind: ServiceProtocol = .http)
    {
        self.name = name
        self.namespace = namespace
        self.protocolKind = protocolKind
    }

    public var reference: ServiceReference { ServiceReference(service: name, namespace: namespace) }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["name", "namespace", "protocol"])
        self.init(
            name: try object.required("name"),
            namespace: try object.optional("namespace", default: .default),
            protocol: try object.optional("protocol", default: .http)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(name, "name")
        try object.encode(namespace, "namespace")
        try object.encode(protocolKind, "protocol")
    }
}
