/// How proxies treat calls to one service: balancing, retry budget, circuit
/// breaking, outlier detection, rate limiting and timeouts. Every part is optional
/// in JSON and takes the documented default when absent, so `{"service": "api"}`
/// is a complete, safe policy.
public struct TrafficPolicy: Codable, Hashable, Sendable {
    public var service: ServiceName
    public var namespace: NamespaceName
    public var loadBalancer: LoadBalancerPolicy
    public var retryBudget: RetryBudget
    public var circuitBreaker: CircuitBreakerLimits
    public var outlierDetection: OutlierDetection
    /// No rate limit unless one is set.
    public var rateLimit: RateLimit?
    public var timeouts: TimeoutPolicy

    public init(
        service: ServiceName, namespace: NamespaceName = .default, loadBalancer: LoadBalancerPolicy = .default,
        retryBudget: RetryBudget = .default, circuitBreaker: CircuitBreakerLimits = .default,
        outlierDetection: OutlierDetection = .default, rateLimit: RateLimit? = nil, timeouts: TimeoutPolicy = .default
    ) {
        self.service = service
        self.namespace = namespace
        self.loadBalancer = loadBalancer
        self.retryBudget = retryBudget
        self.circuitBreaker = circuitBreaker
        self.outlierDetection = outlierDetection
        self.rateLimit = rateLimit
        self.timeouts = timeouts
    }

    public var reference: ServiceReference { ServiceReference(service: service, namespace: namespace) }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(
            decoder,
            fields: [
                "service", "namespace", "load_balancer", "retry_budget", "circuit_breaker", "outlier_detection",
                "rate_limit", "timeouts",
            ])
        self.init(
            service: try object.required("service"),
            namespace: try object.optional("namespace", default: .default),
            loadBalancer: try object.optional("load_balancer", default: .default),
            retryBudget: try object.optional("retry_budget", default: .default),
            circuitBreaker: try object.optional("circuit_breaker", default: .default),
            outlierDetection: try object.optional("outlier_detection", default: .default),
            rateLimit: try Self.serviceRateLimit(object),
            timeouts: try object.optional("timeouts", default: .default)
        )
    }

    /// A service's rate limit is kept per caller identity: a key header is for
    /// route rules.
    private static func serviceRateLimit(_ object: JSONObject) throws -> RateLimit? {
        let limit: RateLimit? = try object.optional("rate_limit")
        if limit?.keyHeader != nil {
            throw ProtocolError(
                FieldPath(object.codingPath + [AnyKey("rate_limit"), AnyKey("key_header")]),
                "applies to route rules; a service's rate limit is kept per caller identity")
        }
        return limit
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(service, "service")
        try object.encode(namespace, "namespace")
        try object.encode(loadBalancer, "load_balancer")
        try object.encode(retryBudget, "retry_budget")
        try object.encode(circuitBreaker, "circuit_breaker")
        try object.encode(outlierDetection, "outlier_detection")
        try object.encode(rateLimit, "rate_limit")
        try object.encode(timeouts, "timeouts")
    }
}
