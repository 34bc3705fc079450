/// What an instance sends to keep its registration alive: an empty body (or `{}`)
/// renews the TTL; `health` also reports a change of its own health, as the
/// sidecar sees its application. `maintenance` is an operator's decision and
/// cannot be reported this way.
public struct Heartbeat: Codable, Hashable, Sendable {
    public var health: HealthState?

    public init(health: HealthState? = nil) throws(ProtocolError) {
        if health == .maintenance {
            throw ProtocolError(
                field: "health", "an instance reports passing, warning or critical; maintenance is set by an operator")
        }
        self.health = health
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["health"])
        let health: HealthState? = try object.optional("health")
        self = try object.validate { () throws(ProtocolError) in try Heartbeat(health: health) }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(health, "health")
    }
}
