/// When and how often a proxy retries a request on this route. Retries are also
/// bounded mesh-wide by each service's retry budget (`TrafficPolicy.retryBudget`),
/// so a failing upstream cannot be hammered by retry storms.
public struct RetryPolicy: Codable, Hashable, Sendable {
    /// What counts as retryable.
    public enum Condition: String, Codable, CaseIterable, Sendable {
        /// The connection could not be made: always safe, nothing was sent.
        case connectFailure = "connect-failure"
        /// The upstream refused the stream before processing it (HTTP/2
        /// REFUSED_STREAM, or GOAWAY past its last stream): safe for any method.
        case refusedStream = "refused-stream"
        /// The upstream reset the stream or the connection mid-request.
        case reset
        /// Responses 502, 503 and 504.
        case gatewayError = "gateway-error"
        /// Any 5xx response.
        case serverError = "5xx"
        /// gRPC status UNAVAILABLE.
        case unavailable

        public init(from decoder: any Decoder) throws {
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let value = Condition(rawValue: text) else {
                let known = Condition.allCases.map(\.rawValue).joined(separator: ", ")
                throw ProtocolError(
                    FieldPath(decoder.codingPath),
                    "unknown retry condition \"\(text.prefix(40))\"; expected one of \(known)")
            }
            self = value
        }
    }

    /// Retries after the first attempt, 0 to 10.
    public var attempts: Int
    public var perTryTimeout: WeftDuration?
    public var retryOn: [Condition]
    /// First backoff; doubles per retry with full jitter, up to `maximumBackoff`.
    public var baseBackoff: WeftDuration
    public var maximumBackoff: WeftDuration

    /// Two retries: after refusals (connect failure, refused stream) for any
    /// method; after resets, 502/503/504 and gRPC UNAVAILABLE only for idempotent
    /// methods (proxies enforce that), within the service's retry budget. Istio's
    /// default, made safe for non-idempotent calls.
    public static let `default` = try! RetryPolicy(
        attempts: 2, retryOn: [.connectFailure, .refusedStream, .reset, .gatewayError, .unavailable])

    public init(
        attempts: Int, perTryTimeout: WeftDuration? = nil,
        retryOn: [Condition] = [.connectFailure, .refusedStream, .unavailable],
        baseBackoff: WeftDuration = .milliseconds(25), maximumBackoff: WeftDuration = .milliseconds(250)
    ) throws(ProtocolError) {
        guard (0...10).contains(attempts) else {
            throw ProtocolError(field: "attempts", "must be between 0 and 10, got \(attempts)")
        }
        if let perTryTimeout {
            try perTryTimeout.check(in: .milliseconds(1)...WeftDuration.seconds(3600), field: "per_try_timeout")
        }
        guard !retryOn.isEmpty || attempts == 0 else {
            throw ProtocolError(field: "retry_on", "must name at least one condition when attempts is above 0")
        }
        guard Set(retryOn).count == retryOn.count else {
            throw ProtocolError(field: "retry_on", "lists a condition twice")
        }
        try baseBackoff.check(in: .milliseconds(1)...WeftDuration.seconds(10), field: "base_backoff")
        try maximumBackoff.check(in: .milliseconds(1)...WeftDuration.seconds(60), field: "max_backoff")
        guard baseBackoff <= maximumBackoff else {
            throw ProtocolError(field: "max_backoff", "must not be below base_backoff (\(baseBackoff))")
        }
        self.attempts = attempts
        self.perTryTimeout = perTryTimeout
        self.retryOn = retryOn
        self.baseBackoff = baseBackoff
        self.maximumBackoff = maximumBackoff
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(
            decoder, fields: ["attempts", "per_try_timeout", "retry_on", "base_backoff", "max_backoff"])
        let defaults = RetryPolicy.default
        let attempts: Int = try object.required("attempts")
        let perTryTimeout: WeftDuration? = try object.optional("per_try_timeout")
        let retryOn: [Condition] = try object.optional("retry_on") ?? defaults.retryOn
        guard retryOn.count <= ProtocolLimits.retryConditions else {
            throw object.error("retry_on", "too many conditions")
        }
        let base: WeftDuration = try object.optional("base_backoff", default: defaults.baseBackoff)
        let maximum: WeftDuration = try object.optional("max_backoff", default: defaults.maximumBackoff)
        self = try object.validate { () throws(ProtocolError) in
            try RetryPolicy(
                attempts: attempts, perTryTimeout: perTryTimeout, retryOn: retryOn, baseBackoff: base,
                maximumBackoff: maximum)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(attempts, "attempts")
        try object.encode(perTryTimeout, "per_try_timeout")
        try object.encode(retryOn, "retry_on")
        try object.encode(baseBackoff, "base_backoff")
        try object.encode(maximumBackoff, "max_backoff")
    }
}
