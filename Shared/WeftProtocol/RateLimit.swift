/// Token buckets, per proxy: `requests_per_second` refill, `burst` capacity.
/// Requests past them get 429 with `Retry-After` (gRPC: RESOURCE_EXHAUSTED).
///
/// On a service's traffic policy it guards the service's inbound side, with a
/// bucket per caller identity (one noisy caller cannot use up the others'
/// share). On a route rule it guards the route, with a bucket per value of
/// `key_header` when given (`x-terminal-id`: a limit per terminal; requests
/// without the header share one bucket), else one bucket for the route.
public struct RateLimit: Codable, Hashable, Sendable {
    public var requestsPerSecond: Double
    public var burst: Int
    /// Routes only: whose bucket a request takes from.
    public var keyHeader: HeaderName?

    public init(requestsPerSecond: Double, burst: Int, keyHeader: HeaderName? = nil) throws(ProtocolError) {
        guard requestsPerSecond.isFinite, requestsPerSecond > 0, requestsPerSecond <= 1_000_000 else {
            throw ProtocolError(
                field: "requests_per_second", "must be above 0 and at most 1000000, got \(requestsPerSecond)")
        }
        guard (1...1_000_000).contains(burst) else {
            throw ProtocolError(field: "burst", "must be between 1 and 1000000, got \(burst)")
        }
        self.requestsPerSecond = requestsPerSecond
        self.burst = burst
        self.keyHeader = keyHeader
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["requests_per_second", "burst", "key_header"])
        let rate: Double = try object.required("requests_per_second")
        let burst: Int = try object.optional("burst", default: max(1, Int(rate.isFinite ? min(rate, 1_000_000) : 1)))
        let keyHeader: HeaderName? = try object.optional("key_header")
        self = try object.validate { () throws(ProtocolError) in
            try RateLimit(requestsPerSecond: rate, burst: burst, keyHeader: keyHeader)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(requestsPerSecond, "requests_per_second")
        try object.encode(burst, "burst")
        try object.encode(keyHeader, "key_header")
    }
}
