import WeftHTTP2
public import WeftProtocol

/// Which failures a request may be retried after. A request the upstream
/// certainly did not process (connect failure, REFUSED_STREAM, GOAWAY above its
/// last stream, an overloaded pool) may always be retried; any other condition
/// the policy names only for idempotent methods (RFC 9110 9.2.2), or for any
/// method on a route whose own retry policy names it (the operator said the
/// route is safe to repeat).
public struct RetryRules: Sendable {
    public let policy: RetryPolicy
    /// The policy came from the route itself.
    public let explicit: Bool

    public init(policy: RetryPolicy, explicit: Bool) {
        self.policy = policy
        self.explicit = explicit
    }

    /// What went wrong with an attempt.
    public enum Failure: Sendable, Equatable {
        /// Nothing reached the upstream: connect failure, refused stream.
        case refused(ProxyError)
        /// The stream was reset after the request went out, before a response.
        case reset(ProxyError)
        /// A response with this status (and gRPC status, when a trailers-only
        /// response carried one).
        case response(status: Int, grpcStatus: Int?)
    }

    public static func isIdempotent(_ method: String) -> Bool {
        switch method {
        case "GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE": return true
        default: return false
        }
    }

    /// Whether `failure` may be retried for a request with `method`.
    public func allows(_ failure: Failure, method: String) -> Bool {
        let conditions = policy.retryOn
        let repeatable = explicit || Self.isIdempotent(method)
        switch failure {
        case .refused(let error):
            if case .connectFailed = error { return true }
            return error.wasRefusedBeforeProcessing && !Self.isLocalRefusal(error)
        case .reset:
            return repeatable && conditions.contains(.reset)
        case .response(let status, let grpcStatus):
            guard repeatable else { return false }
            if grpcStatus == 14 && conditions.contains(.unavailable) { return true }
            if (502...504).contains(status) && conditions.contains(.gatewayError) { return true }
            if (500...599).contains(status) && conditions.contains(.serverError) { return true }
            return false
        }
    }

    /// Refusals that another attempt cannot change: the proxy's own limits.
    static func isLocalRefusal(_ error: ProxyError) -> Bool {
        switch error {
        case .circuitOpen, .rateLimited, .shuttingDown, .unknownUpstream, .noEndpoints: return true
        default: return false
        }
    }

    /// Whether a response status is an outlier-detection failure of its endpoint.
    public static func isGatewayError(_ status: Int) -> Bool {
        (502...504).contains(status)
    }
}
