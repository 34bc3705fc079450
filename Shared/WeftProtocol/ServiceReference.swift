/// A service named within its namespace: `payments` in `shop`. Written in JSON as
/// `{"service": "payments", "namespace": "shop"}`, namespace defaulting to `default`.
public struct ServiceReference: Codable, Hashable, Comparable, CustomStringConvertible, Sendable {
    public var service: ServiceName
    public var namespace: NamespaceName

    public init(service: ServiceName, namespace: NamespaceName = .default) {
        self.service = service
        self.namespace = namespace
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["service", "namespace"])
        self.init(
            service: try object.required("service"),
            namespace: try object.optional("namespace", default: .default)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(service, "service")
        try object.encode(namespace, "namespace")
    }

    public var description: String { "\(namespace)/\(service)" }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.namespace, lhs.service) < (rhs.namespace, rhs.service)
    }
}
