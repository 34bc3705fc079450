import NIOCore
public import WeftHTTP2
import WeftProtocol

/// Watches one request for telemetry: when it started, the route and upstream
/// it went to, the status it was answered with, when it ended. It records into
/// its event loop's `ProxyMetrics` (and, when the proxy keeps one, its access
/// log) once, at the end; nothing is shared across threads. A value kept inside
/// the request's forwarder: no allocation of its own per request unless the
/// access log is on.
public struct RequestObserver {
    private let metrics: ProxyMetrics
    private let direction: ProxyMetrics.Direction
    private let started: NIODeadline
    private var status: Int?
    private var recorded = false
    private var route: String?
    private var upstream: String?
    /// Who is on the other side, for the per-peer metrics: the caller's
    /// identity (inbound, known per connection), the upstream (outbound).
    private var peer: String?
    private let log: AccessLogBuffer?
    private var entry: AccessLogBuffer.Entry?

    public init(metrics: ProxyMetrics, direction: ProxyMetrics.Direction) {
        self.metrics = metrics
        self.direction = direction
        self.started = .now()
        self.log = nil
    }

    /// For `loop`'s requests: its metrics and its access log, if any;
    /// `client` is the caller's address, `caller` its verified identity
    /// (inbound).
    public init(loop: ProxyLoop, direction: ProxyMetrics.Direction, client: String? = nil, caller: String? = nil) {
        self.metrics = loop.metrics
        self.direction = direction
        self.started = .now()
        self.peer = caller
        if let log = loop.accessLog, log.sampled() {
            self.log = log
            entry = AccessLogBuffer.Entry(client: client, caller: caller)
        } else {
            self.log = nil
        }
    }

    /// The request's head, as it arrived.
    public mutating func requestBegan(_ headers: [HTTP2Header]) {
        guard entry != nil else { return }
        for header in headers {
            switch header.name {
            case ":method": entry?.method = header.value
            case ":authority": entry?.authority = header.value
            case ":path": entry?.path = header.value
            case "host" where entry?.authority.isEmpty == true: entry?.authority = header.value
            case WeftHeaders.traceParent: entry?.traceParent = header.value
            default: break
            }
        }
    }

    /// Where the request was sent: the rule that took it (if a route table
    /// did) and the upstream. Per-route metrics count it under both.
    public mutating func routed(_ plan: ForwardingPlan) {
        if case .application = plan.target {
            forwarded(route: nil, upstream: "application", headers: plan.headers)
        } else {
            forwarded(route: plan.route, upstream: plan.name, headers: plan.headers)
        }
    }

    /// Where the request went, and its head as sent there (the caller's
    /// verified identity on the inbound side, the trace it joined).
    public mutating func forwarded(route: String?, upstream: String, headers: [HTTP2Header]) {
        self.route = route
        self.upstream = upstream
        if direction == .outbound { peer = upstream }
        guard entry != nil else { return }
        entry?.route = route
        entry?.upstream = upstream
        if let trace = headers[first: WeftHeaders.traceParent] { entry?.traceParent = trace }
    }

    /// The response's head went out with `status`.
    public mutating func responseBegan(status: Int) {
        self.status = status
    }

    /// The exchange is over: with a status when the proxy answered or cut it itself.
    public mutating func completed(status: Int? = nil, error: ProxyError? = nil) {
        guard !recorded else { return }
        recorded = true
        let code = status ?? self.status ?? 0
        let seconds = Double((NIODeadline.now() - started).nanoseconds) / 1e9
        metrics.record(direction, status: code, seconds: seconds)
        if let error { metrics.recordError(direction, reason: error.status.reason) }
        if let route, let upstream { metrics.recordRoute(route, upstream: upstream, status: code, seconds: seconds) }
        if let peer { metrics.recordPeer(direction, peer: peer, status: code, seconds: seconds) }
        if let log, let entry {
            log.append(entry, direction: direction, status: code, seconds: seconds, error: error?.status.reason)
        }
    }
}

@available(*, unavailable)
extension RequestObserver: Sendable {}
