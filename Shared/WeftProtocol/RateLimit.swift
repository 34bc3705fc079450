/// A token bucket on a service's inbound side, per proxy: `requests_per_second`
/// refill, `burst` capacity. Requests past it get 429.
public struct RateLimit: Codable, Hashable, Sendable {
    public var requestsPerSecond: Double
    public var burst: Int

    public init(requestsPerSecond: Double, burst: Int) throws(ProtocolError) {
        guard requestsPerSecond.isFinite, requestsPerSecond > 0, requestsPerSecond <= 1_000_000 else {
            throw ProtocolError(
                field: "requests_per_second", "must be above 0 and at most 1000000, got \(requestsPerSecond)")
        }
        guard (1...1_000_000).contains(burst) else {
            throw ProtocolError(field: "burst", "must be between 1 and 1000000, got \(burst)")
        }
        self.requestsPerSecond = requestsPerSecond
        self.burst = burst
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["requests_per_second", "burst"])
        let rate: Double = try object.required("requests_per_second")
        let burst: Int = try object.optional("burst", default: max(1, Int(rate.isFinite ? min(rate, 1_000_000) : 1)))
        self = try object.validate { () throws(ProtocolError) in try RateLimit(requestsPerSecond: rate, burst: burst) }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(requestsPerSecond, "requests_per_second")
        try object.encode(burst, "burst")
    }
}
