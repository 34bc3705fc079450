import Foundation
import Testing
import WeftProtocol

@Suite struct TrafficPolicyTests {
    @Test func aBarePolicyTakesSafeDefaults() throws {
        let policy = try expectRoundTrip(TrafficPolicy.self, #"{"service": "api"}"#)
        #expect(policy.loadBalancer == .peakEWMA)
        #expect(policy.retryBudget == .default)
        #expect(policy.circuitBreaker.maximumRequests == 1024)
        #expect(policy.outlierDetection.consecutiveErrors == 5)
        #expect(policy.rateLimit == nil)
        #expect(policy.timeouts.request == .seconds(15))
    }

    @Test func aFullPolicyRoundTrips() throws {
        let json = #"""
            {"service": "api", "namespace": "shop",
             "load_balancer": {"type": "ring_hash", "hash_header": "X-Session"},
             "retry_budget": {"percent": 10, "min_retries_per_second": 5, "window": "20s"},
             "circuit_breaker": {"max_connections": 100, "max_pending_requests": 50, "max_requests": 200, "max_retries": 5},
             "outlier_detection": {"consecutive_errors": 3, "interval": "5s", "base_ejection_time": "1m", "max_ejection_percent": 30},
             "rate_limit": {"requests_per_second": 250.5, "burst": 500},
             "timeouts": {"connect": "1s", "request": "30s", "idle": "2m"}}
            """#
        let policy = try expectRoundTrip(TrafficPolicy.self, json)
        #expect(policy.loadBalancer == .ringHash(.header(try HeaderName(validating: "x-session"))))
        #expect(policy.rateLimit?.burst == 500)
    }

    @Test(arguments: [
        (#"{"service": "api", "load_balancer": {"type": "maglev"}}"#, "load_balancer.type", "unknown balancer"),
        (
            #"{"service": "api", "load_balancer": {"type": "least_request", "choice_count": 1}}"#,
            "load_balancer.choice_count", "between 2 and 10"
        ),
        (
            #"{"service": "api", "load_balancer": {"type": "round_robin", "hash_header": "x"}}"#,
            "load_balancer.hash_header", "applies only to another balancer"
        ),
        (#"{"service": "api", "load_balancer": {"type": "ring_hash"}}"#, "load_balancer.hash_header", "is required"),
        (
            #"{"service": "api", "load_balancer": {"type": "ring_hash", "hash_header": "x", "hash_cookie": "s"}}"#,
            "load_balancer.hash_cookie", "cannot be given with hash_header"
        ),
        (
            #"{"service": "api", "load_balancer": {"type": "ring_hash", "hash_cookie": "a b"}}"#,
            "load_balancer.hash_cookie", "must be a cookie name"
        ),
        (
            #"{"service": "api", "load_balancer": {"type": "peak_ewma", "choice_count": 2}}"#,
            "load_balancer.choice_count", "applies only to another balancer"
        ),
        (#"{"service": "api", "retry_budget": {"percent": -1}}"#, "retry_budget.percent", "between 0 and 1000"),
        (#"{"service": "api", "retry_budget": {"window": "0s"}}"#, "retry_budget.window", "between 1s and 1m"),
        (
            #"{"service": "api", "circuit_breaker": {"max_requests": 0}}"#, "circuit_breaker.max_requests",
            "between 1 and 1000000"
        ),
        (
            #"{"service": "api", "outlier_detection": {"max_ejection_percent": 101}}"#,
            "outlier_detection.max_ejection_percent", "between 0 and 100"
        ),
        (
            #"{"service": "api", "outlier_detection": {"interval": "1ms"}}"#, "outlier_detection.interval",
            "between 100ms and 1h"
        ),
        (#"{"service": "api", "rate_limit": {"requests_per_second": 0}}"#, "rate_limit.requests_per_second", "above 0"),
        (#"{"service": "api", "rate_limit": {"burst": 10}}"#, "rate_limit.requests_per_second", "is required"),
        (#"{"service": "api", "timeouts": {"connect": "2m"}}"#, "timeouts.connect", "between 10ms and 1m"),
        (#"{"service": "api", "timeouts": {"idle": "soon"}}"#, "timeouts.idle", "invalid duration"),
        (#"{"service": "api", "circuit_breaker": {"max_request": 5}}"#, "circuit_breaker.max_request", "unknown field"),
    ])
    func refusesBadSettings(json: String, path: String, reason: String) {
        expectRejected(TrafficPolicy.self, json, path: path, reason: reason)
    }
}
