public import WeftProtocol

/// A service's circuit breakers on one event loop (Envoy's thresholds): requests
/// in flight, requests waiting for a stream, retries in flight, connections.
/// Past a limit a request is answered 503 `circuit-open` at once, saying which
/// limit; nothing queues beyond them.
public struct CircuitBreaker {
    public let limits: CircuitBreakerLimits
    public private(set) var requests = 0
    public private(set) var pending = 0
    public private(set) var retries = 0

    public init(_ limits: CircuitBreakerLimits) {
        self.limits = limits
    }

    /// The same counters under new limits (a new snapshot).
    public func with(limits: CircuitBreakerLimits) -> CircuitBreaker {
        var copy = CircuitBreaker(limits)
        copy.requests = requests
        copy.pending = pending
        copy.retries = retries
        return copy
    }

    /// Admits an attempt (a retry when `retry`), or says which limit refuses it.
    public mutating func admit(retry: Bool) -> String? {
        if requests >= limits.maximumRequests {
            return "\(requests) requests are in flight, the limit (circuit_breaker.max_requests)"
        }
        if pending >= limits.maximumPendingRequests {
            return "\(pending) requests are waiting for a connection, the limit (circuit_breaker.max_pending_requests)"
        }
        if retry && retries >= limits.maximumRetries {
            return "\(retries) retries are in flight, the limit (circuit_breaker.max_retries)"
        }
        requests += 1
        pending += 1
        if retry { retries += 1 }
        return nil
    }

    /// The admitted attempt has its stream (or failed to get one).
    public mutating func opened() {
        pending = max(0, pending - 1)
    }

    /// The admitted attempt is over.
    public mutating func finished(retry: Bool) {
        requests = max(0, requests - 1)
        if retry { retries = max(0, retries - 1) }
    }

    /// Whether one more connection may be dialled while `open` are open.
    public func mayConnect(open: Int) -> Bool {
        open < limits.maximumConnections
    }
}
