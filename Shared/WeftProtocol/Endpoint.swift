/// A place a proxy may send a request for a service: what discovery hands out.
/// Only instances that receive traffic become endpoints; `weight` (1 to 128,
/// default 1) lets an operator give a larger machine a larger share.
public struct Endpoint: Codable, Hashable, Sendable {
    public var instance: InstanceID
    public var address: HostAddress
    public var port: UInt16
    public var zone: String?
    public var labels: Labels
    public var health: HealthState
    public var weight: Int

    public init(
        instance: InstanceID, address: HostAddress, port: Int, zone: String? = nil, labels: Labels = [:],
        health: HealthState = .passing, weight: Int = 1
    ) throws(ProtocolError) {
        guard health.receivesTraffic else {
            throw ProtocolError(field: "health", "an endpoint must be passing or warning, got \(health.rawValue)")
        }
        guard (1...128).contains(weight) else {
            throw ProtocolError(field: "weight", "must be between 1 and 128, got \(weight)")
        }
        self.instance = instance
        self.address = address
        self.port = try Port.validate(port, field: "port")
        self.zone = zone
        self.labels = labels
        self.health = health
        self.weight = weight
    }

    /// The endpoint for a registered instance, or nil when it should get no traffic.
    public init?(_ instance: Instance, weight: Int = 1) {
        guard instance.health.receivesTraffic,
            let endpoint = try? Endpoint(
                instance: instance.id, address: instance.address, port: Int(instance.port), zone: instance.zone,
                labels: instance.labels, health: instance.health, weight: weight)
        else { return nil }
        self = endpoint
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(
            decoder, fields: ["instance", "address", "port", "zone", "labels", "health", "weight"])
        let instance: InstanceID = try object.required("instance")
        let address: HostAddress = try object.required("address")
        let port: Int = try object.required("port")
        let zone: String? = try object.optional("zone")
        let labels: Labels = try object.optional("labels", default: [:])
        let health: HealthState = try object.optional("health", default: .passing)
        let weight: Int = try object.optional("weight", default: 1)
        self = try object.validate { () throws(ProtocolError) in
            try Endpoint(
                instance: instance, address: address, port: port, zone: zone, labels: labels, health: health,
                weight: weight)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(instance, "instance")
        try object.encode(address, "address")
        try object.encode(Int(port), "port")
        try object.encode(zone, "zone")
        try object.encode(labels, "labels")
        try object.encode(health, "health")
        try object.encode(weight, "weight")
    }
}
