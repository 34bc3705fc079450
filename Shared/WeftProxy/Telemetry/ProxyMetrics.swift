/// A proxy's request counters for one event loop: requests by direction and status
/// class, a latency histogram per direction, and errors by reason. Each loop owns
/// one and only its loop writes it (no atomics or locks per request); the admin
/// endpoint sums the loops' copies when scraped (`ProxyMetrics.merged`).
public final class ProxyMetrics {
    public enum Direction: Int, CaseIterable, Sendable {
        case inbound, outbound
        var label: String { self == .inbound ? "inbound" : "outbound" }
    }

    /// Upper bounds of the latency buckets, in seconds (plus +Inf).
    public static let bucketBounds: [Double] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]
    static let statusClasses = ["other", "1xx", "2xx", "3xx", "4xx", "5xx"]

    /// [direction][status class]
    public private(set) var requests: [[UInt64]]
    /// [direction][bucket] (the last is +Inf), cumulative only when exposed.
    public private(set) var buckets: [[UInt64]]
    public private(set) var latencySum: [Double]
    public private(set) var errors: [String: [UInt64]] = [:]
    /// Connections dialled, [application, mesh]: a number that climbs with the
    /// request count means keep-alive or pooling is failing.
    public private(set) var dials: [UInt64] = [0, 0]

    /// Who a dialled connection goes to.
    public enum Peer: Int, CaseIterable, Sendable {
        case application, mesh
        var label: String { self == .application ? "application" : "mesh" }
    }

    /// What traffic policy did, by event: retries made, retries the budget
    /// refused, breakers that refused, deadlines that passed, rate limits that
    /// refused, faults injected, endpoints ejected.
    public enum PolicyEvent: Int, CaseIterable, Sendable {
        case retry, retryBudgetExhausted, circuitOpen, deadlineExceeded, rateLimited, faultInjected, ejection
        var label: String {
            switch self {
            case .retry: "retry"
            case .retryBudgetExhausted: "retry_budget_exhausted"
            case .circuitOpen: "circuit_open"
            case .deadlineExceeded: "deadline_exceeded"
            case .rateLimited: "rate_limited"
            case .faultInjected: "fault_injected"
            case .ejection: "ejection"
            }
        }
    }

    public private(set) var policy: [UInt64] = Array(repeating: 0, count: PolicyEvent.allCases.count)
    /// Mesh-port handshakes refused, by WeftTLS's reason (verification failed, no
    /// certificate or plaintext: handshake failed, too slow: timeout).
    public private(set) var tlsFailures: [String: UInt64] = [:]

    /// Per route and upstream: requests by status class, and the latency
    /// histogram. At most `routeKeyLimit`
    /// keys per loop (routes × destinations is bounded by the tables' limits,
    /// this bounds it again), later ones counted under `route="other"`.
    public private(set) var routes: [LabelPair: RouteCounters] = [:]
    static let routeKeyLimit = 4096

    /// Two label values, hashed as they are: no string is built per request.
    public struct LabelPair: Hashable, Sendable, Comparable {
        public let first: String
        public let second: String

        public static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.first, lhs.second) < (rhs.first, rhs.second)
        }
    }

    public struct RouteCounters: Sendable {
        public var requests = Array(repeating: UInt64(0), count: ProxyMetrics.statusClasses.count)
        public var buckets = Array(repeating: UInt64(0), count: ProxyMetrics.bucketBounds.count + 1)
        public var latencySum = 0.0

        mutating func add(_ other: RouteCounters) {
            for index in requests.indices { requests[index] += other.requests[index] }
            for index in buckets.indices { buckets[index] += other.buckets[index] }
            latencySum += other.latencySum
        }
    }

    /// Per direction and peer: the upstream service called (outbound), the
    /// caller's SPIFFE ID (inbound). At most
    /// `routeKeyLimit` keys per loop, later peers counted as `other`.
    public private(set) var peers: [LabelPair: RouteCounters] = [:]

    public func recordPeer(_ direction: Direction, peer: String, status: Int, seconds: Double) {
        var key = LabelPair(first: direction.label, second: peer)
        if peers[key] == nil && peers.count >= Self.routeKeyLimit {
            key = LabelPair(first: direction.label, second: "other")
        }
        let statusClass = (100..<600).contains(status) ? status / 100 : 0
        peers[key, default: RouteCounters()].requests[statusClass] += 1
        peers[key]!.buckets[Self.bucket(seconds)] += 1
        peers[key]!.latencySum += seconds
    }

    public func recordRoute(_ route: String, upstream: String, status: Int, seconds: Double) {
        var key = LabelPair(first: route, second: upstream)
        if routes[key] == nil && routes.count >= Self.routeKeyLimit { key = LabelPair(first: "other", second: "other") }
        let statusClass = (100..<600).contains(status) ? status / 100 : 0
        routes[key, default: RouteCounters()].requests[statusClass] += 1
        routes[key]!.buckets[Self.bucket(seconds)] += 1
        routes[key]!.latencySum += seconds
    }

    static func bucket(_ seconds: Double) -> Int {
        for (index, bound) in bucketBounds.enumerated() where seconds <= bound { return index }
        return bucketBounds.count
    }

    public func recordTLSFailure(_ reason: String) {
        tlsFailures[reason, default: 0] += 1
    }

    public func recordPolicy(_ event: PolicyEvent) {
        policy[event.rawValue] += 1
    }

    public init() {
        let directions = Direction.allCases.count
        requests = Array(repeating: Array(repeating: 0, count: Self.statusClasses.count), count: directions)
        buckets = Array(repeating: Array(repeating: 0, count: Self.bucketBounds.count + 1), count: directions)
        latencySum = Array(repeating: 0, count: directions)
    }

    public func record(_ direction: Direction, status: Int, seconds: Double) {
        let statusClass = (100..<600).contains(status) ? status / 100 : 0
        requests[direction.rawValue][statusClass] += 1
        var bucket = Self.bucketBounds.count
        for (index, bound) in Self.bucketBounds.enumerated() where seconds <= bound {
            bucket = index
            break
        }
        buckets[direction.rawValue][bucket] += 1
        latencySum[direction.rawValue] += seconds
    }

    public func recordError(_ direction: Direction, reason: String) {
        errors[reason, default: [0, 0]][direction.rawValue] += 1
    }

    public func recordDial(_ peer: Peer) {
        dials[peer.rawValue] += 1
    }

    /// A copy, to be summed off the loop.
    public func snapshot() -> Totals {
        Totals(
            requests: requests, buckets: buckets, latencySum: latencySum, errors: errors, dials: dials, policy: policy,
            tlsFailures: tlsFailures, routes: routes, peers: peers)
    }

    /// Counters summed over loops, and their Prometheus text.
    public struct Totals: Sendable {
        public var requests: [[UInt64]]
        public var buckets: [[UInt64]]
        public var latencySum: [Double]
        public var errors: [String: [UInt64]]
        public var dials: [UInt64]
        public var policy: [UInt64]
        public var tlsFailures: [String: UInt64]
        public var routes: [LabelPair: RouteCounters]
        public var peers: [LabelPair: RouteCounters]
        /// Client connections open on each listener (set by the admin server).
        public var openConnections: [(listener: String, count: Int)] = []
        /// Access log lines dropped (set by the admin server from the log).
        public var accessLogDropped: UInt64?
        /// Spans sent to the collector and dropped (set from the exporter).
        public var spans: (exported: UInt64, dropped: UInt64)?

        public static func merged(_ parts: [Totals]) -> Totals {
            var total = ProxyMetrics().snapshot()
            for part in parts {
                for d in 0..<part.requests.count {
                    for c in 0..<part.requests[d].count { total.requests[d][c] += part.requests[d][c] }
                    for b in 0..<part.buckets[d].count { total.buckets[d][b] += part.buckets[d][b] }
                    total.latencySum[d] += part.latencySum[d]
                }
                for peer in 0..<part.dials.count { total.dials[peer] += part.dials[peer] }
                for event in 0..<part.policy.count { total.policy[event] += part.policy[event] }
                for (reason, count) in part.tlsFailures { total.tlsFailures[reason, default: 0] += count }
                for (key, counters) in part.routes { total.routes[key, default: RouteCounters()].add(counters) }
                for (key, counters) in part.peers { total.peers[key, default: RouteCounters()].add(counters) }
                for (reason, counts) in part.errors {
                    var sum = total.errors[reason] ?? [0, 0]
                    for d in 0..<counts.count { sum[d] += counts[d] }
                    total.errors[reason] = sum
                }
            }
            return total
        }

        /// The Prometheus text exposition, with `prefix` on every name.
        public func exposition(prefix: String) -> String {
            var text = "# HELP \(prefix)_requests_total Requests handled, by direction and status class.\n"
            text += "# TYPE \(prefix)_requests_total counter\n"
            for direction in Direction.allCases {
                for (index, name) in ProxyMetrics.statusClasses.enumerated() {
                    let value = requests[direction.rawValue][index]
                    guard value > 0 || index == 2 else { continue }
                    text += "\(prefix)_requests_total{direction=\"\(direction.label)\",status=\"\(name)\"} \(value)\n"
                }
            }
            text += "# HELP \(prefix)_request_duration_seconds Time from a request's headers to its response's end.\n"
            text += "# TYPE \(prefix)_request_duration_seconds histogram\n"
            for direction in Direction.allCases {
                var cumulative: UInt64 = 0
                let label = "direction=\"\(direction.label)\""
                for (index, count) in buckets[direction.rawValue].enumerated() {
                    cumulative += count
                    let bound = index < ProxyMetrics.bucketBounds.count ? "\(ProxyMetrics.bucketBounds[index])" : "+Inf"
                    text += "\(prefix)_request_duration_seconds_bucket{\(label),le=\"\(bound)\"} \(cumulative)\n"
                }
                text += "\(prefix)_request_duration_seconds_sum{\(label)} \(latencySum[direction.rawValue])\n"
                text += "\(prefix)_request_duration_seconds_count{\(label)} \(cumulative)\n"
            }
            text += "# HELP \(prefix)_proxy_errors_total Requests the proxy answered or cut itself, by reason.\n"
            text += "# TYPE \(prefix)_proxy_errors_total counter\n"
            for (reason, counts) in errors.sorted(by: { $0.key < $1.key }) {
                for direction in Direction.allCases where counts[direction.rawValue] > 0 {
                    text +=
                        "\(prefix)_proxy_errors_total{direction=\"\(direction.label)\",reason=\"\(reason)\"} \(counts[direction.rawValue])\n"
                }
            }
            text += "# HELP \(prefix)_connections_opened_total Connections dialled, by peer.\n"
            text += "# TYPE \(prefix)_connections_opened_total counter\n"
            for peer in Peer.allCases {
                text += "\(prefix)_connections_opened_total{peer=\"\(peer.label)\"} \(dials[peer.rawValue])\n"
            }
            text += "# HELP \(prefix)_policy_events_total What traffic policy did: retries, refusals, ejections.\n"
            text += "# TYPE \(prefix)_policy_events_total counter\n"
            for event in PolicyEvent.allCases {
                text += "\(prefix)_policy_events_total{event=\"\(event.label)\"} \(policy[event.rawValue])\n"
            }
            text += Self.labelled(
                peers, prefix: prefix, name: "peer",
                by: "by direction and peer (the upstream service called, or the caller's identity)",
                labels: ("direction", "peer"))
            if !openConnections.isEmpty {
                text += "# HELP \(prefix)_open_connections Client connections open, by listener.\n"
                text += "# TYPE \(prefix)_open_connections gauge\n"
                for (listener, count) in openConnections {
                    text += "\(prefix)_open_connections{listener=\"\(Self.escaped(Substring(listener)))\"} \(count)\n"
                }
            }
            text += Self.labelled(
                routes, prefix: prefix, name: "route", by: "a route rule took, by rule and upstream",
                labels: ("route", "upstream"))
            if let accessLogDropped {
                text +=
                    "# HELP \(prefix)_access_log_dropped_total Access log lines dropped because the writer fell behind.\n"
                text += "# TYPE \(prefix)_access_log_dropped_total counter\n"
                text += "\(prefix)_access_log_dropped_total \(accessLogDropped)\n"
            }
            if let spans {
                text += "# HELP \(prefix)_spans_exported_total Spans the OTLP collector accepted.\n"
                text += "# TYPE \(prefix)_spans_exported_total counter\n"
                text += "\(prefix)_spans_exported_total \(spans.exported)\n"
                text +=
                    "# HELP \(prefix)_spans_dropped_total Spans dropped: the collector refused them, or was away while over 4 MiB waited.\n"
                text += "# TYPE \(prefix)_spans_dropped_total counter\n"
                text += "\(prefix)_spans_dropped_total \(spans.dropped)\n"
            }
            text += "# HELP \(prefix)_tls_handshake_failures_total Mesh-port handshakes refused, by reason.\n"
            text += "# TYPE \(prefix)_tls_handshake_failures_total counter\n"
            for (reason, count) in tlsFailures.sorted(by: { $0.key < $1.key }) {
                text += "\(prefix)_tls_handshake_failures_total{reason=\"\(reason)\"} \(count)\n"
            }
            return text
        }

        /// `<prefix>_<name>_requests_total` and its latency histogram for
        /// counters keyed by two label values.
        static func labelled(
            _ counters: [LabelPair: RouteCounters], prefix: String, name: String, by: String, labels: (String, String)
        ) -> String {
            guard !counters.isEmpty else { return "" }
            let sorted = counters.sorted { $0.key < $1.key }.map { key, counters in
                let text =
                    "\(labels.0)=\"\(escaped(Substring(key.first)))\",\(labels.1)=\"\(escaped(Substring(key.second)))\""
                return (text, counters)
            }
            var text = "# HELP \(prefix)_\(name)_requests_total Requests \(by), and status class.\n"
            text += "# TYPE \(prefix)_\(name)_requests_total counter\n"
            for (labels, counters) in sorted {
                for (index, status) in ProxyMetrics.statusClasses.enumerated() where counters.requests[index] > 0 {
                    text +=
                        "\(prefix)_\(name)_requests_total{\(labels),status=\"\(status)\"} \(counters.requests[index])\n"
                }
            }
            text +=
                "# HELP \(prefix)_\(name)_request_duration_seconds Time from a request's headers to its response's end, \(by).\n"
            text += "# TYPE \(prefix)_\(name)_request_duration_seconds histogram\n"
            for (labels, counters) in sorted {
                var cumulative: UInt64 = 0
                for (index, count) in counters.buckets.enumerated() {
                    cumulative += count
                    let bound = index < ProxyMetrics.bucketBounds.count ? "\(ProxyMetrics.bucketBounds[index])" : "+Inf"
                    text +=
                        "\(prefix)_\(name)_request_duration_seconds_bucket{\(labels),le=\"\(bound)\"} \(cumulative)\n"
                }
                text += "\(prefix)_\(name)_request_duration_seconds_sum{\(labels)} \(counters.latencySum)\n"
                text += "\(prefix)_\(name)_request_duration_seconds_count{\(labels)} \(cumulative)\n"
            }
            return text
        }

        /// A label value with backslash, quote and newline escaped.
        static func escaped(_ value: Substring) -> String {
            var result = ""
            for character in value {
                switch character {
                case "\\": result += "\\\\"
                case "\"": result += "\\\""
                case "\n": result += "\\n"
                default: result.append(character)
                }
            }
            return result
        }
    }
}

@available(*, unavailable)
extension ProxyMetrics: Sendable {}
