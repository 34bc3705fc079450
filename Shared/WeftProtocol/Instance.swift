/// One running copy of a service as registered in the catalog: where it listens,
/// where it runs (zone), what it is (labels such as `version`, `terminal-type`,
/// `firmware`), and how healthy it is.
///
/// A registration carries a `ttl`: the instance must heartbeat within it or turn
/// `critical` and leave every endpoint set (5 s to 10 min; 30 s by default).
public struct Instance: Codable, Hashable, Sendable {
    public var id: InstanceID
    public var service: ServiceName
    public var namespace: NamespaceName
    public var address: HostAddress
    public var port: UInt16
    public var zone: String?
    public var labels: Labels
    public var health: HealthState
    public var ttl: WeftDuration

    public static let defaultTTL = WeftDuration.seconds(30)
    public static let ttlRange = WeftDuration.seconds(5)...WeftDuration.seconds(600)

    public init(
        id: InstanceID, service: ServiceName, namespace: NamespaceName = .default, address: HostAddress, port: Int,
        zone: String? = nil, labels: Labels = [:], health: HealthState = .passing,
        ttl: WeftDuration = Instance.defaultTTL
    ) throws(ProtocolError) {
        if let zone, let problem = Labels.keyProblem(zone) {
            throw ProtocolError(field: "zone", "invalid zone \"\(zone.prefix(80))\": \(problem)")
        }
        try ttl.check(in: Self.ttlRange, field: "ttl")
        self.id = id
        self.service = service
        self.namespace = namespace
        self.address = address
        self.port = try Port.validate(port, field: "port")
        self.zone = zone
        self.labels = labels
        self.health = health
        self.ttl = ttl
    }

    public var reference: ServiceReference { ServiceReference(service: service, namespace: namespace) }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(
            decoder, fields: ["id", "service", "namespace", "address", "port", "zone", "labels", "health", "ttl"])
        let id: InstanceID = try object.required("id")
        let service: ServiceName = try object.required("service")
        let namespace: NamespaceName = try object.optional("namespace", default: .default)
        let address: HostAddress = try object.required("address")
        let port: Int = try object.required("port")
        let zone: String? = try object.optional("zone")
        let labels: Labels = try object.optional("labels", default: [:])
        let health: HealthState = try object.optional("health", default: .passing)
        let ttl: WeftDuration = try object.optional("ttl", default: Self.defaultTTL)
        self = try object.validate { () throws(ProtocolError) in
            try Instance(
                id: id, service: service, namespace: namespace, address: address, port: port, zone: zone,
                labels: labels, health: health, ttl: ttl)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(id, "id")
        try object.encode(service, "service")
        try object.encode(namespace, "namespace")
        try object.encode(address, "address")
        try object.encode(Int(port), "port")
        try object.encode(zone, "zone")
        try object.encode(labels, "labels")
        try object.encode(health, "health")
        try object.encode(ttl, "ttl")
    }
}
