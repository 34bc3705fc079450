/// Hard limits a proxy holds toward one upstream service; past them it fails fast
/// with 503 instead of queueing (Envoy's circuit-breaker thresholds). The
/// default for concurrent retries is 1024, not Envoy's 3: with a retry budget
/// bounding retries to a share of traffic, a limit of 3 only turns the burst of
/// retries that follows one lost instance into failed requests (Istio raises it
/// for the same reason).
public struct CircuitBreakerLimits: Codable, Hashable, Sendable {
    public var maximumConnections: Int
    public var maximumPendingRequests: Int
    public var maximumRequests: Int
    public var maximumRetries: Int

    public static let `default` = try! CircuitBreakerLimits(
        maximumConnections: 1024, maximumPendingRequests: 1024, maximumRequests: 1024, maximumRetries: 1024)

    public init(maximumConnections: Int, maximumPendingRequests: Int, maximumRequests: Int, maximumRetries: Int)
        throws(ProtocolError)
    {
        for (field, value) in [
            ("max_connections", maximumConnections), ("max_pending_requests", maximumPendingRequests),
            ("max_requests", maximumRequests), ("max_retries", maximumRetries),
        ] {
            guard (1...1_000_000).contains(value) else {
                throw ProtocolError(field: field, "must be between 1 and 1000000, got \(value)")
            }
        }
        self.maximumConnections = maximumConnections
        self.maximumPendingRequests = maximumPendingRequests
        self.maximumRequests = maximumRequests
        self.maximumRetries = maximumRetries
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(
            decoder, fields: ["max_connections", "max_pending_requests", "max_requests", "max_retries"])
        let d = Self.default
        let connections: Int = try object.optional("max_connections", default: d.maximumConnections)
        let pending: Int = try object.optional("max_pending_requests", default: d.maximumPendingRequests)
        let requests: Int = try object.optional("max_requests", default: d.maximumRequests)
        let retries: Int = try object.optional("max_retries", default: d.maximumRetries)
        self = try object.validate { () throws(ProtocolError) in
            try CircuitBreakerLimits(
                maximumConnections: connections, maximumPendingRequests: pending, maximumRequests: requests,
                maximumRetries: retries)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(maximumConnections, "max_connections")
        try object.encode(maximumPendingRequests, "max_pending_requests")
        try object.encode(maximumRequests, "max_requests")
        try object.encode(maximumRetries, "max_retries")
    }
}
