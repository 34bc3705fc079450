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
    /// When the proxy exports spans: the loop's span buffer and this request's
    /// span, decided once the request is routed (or answered without it).
    private let spans: SpanBuffer?
    private var span: SpanState?
    private let traceIDs: TraceIDGenerator?
    private let spanKind: OTLPEncoding.SpanKind
    private let client: String?

    /// What a traced request's span gathers before it ends.
    private struct SpanState {
        var incoming: TraceContext?
        var startNanos: UInt64
        var method = ""
        var path = ""
        var authority = ""
        /// This proxy's span (its own id in `spanID`), once decided.
        var context: TraceContext?
        var parent: UInt64 = 0
    }

    public init(metrics: ProxyMetrics, direction: ProxyMetrics.Direction) {
        self.metrics = metrics
        self.direction = direction
        self.started = .now()
        self.log = nil
        self.spans = nil
        self.traceIDs = nil
        self.spanKind = direction == .inbound ? .server : .client
        self.client = nil
    }

    /// For `loop`'s requests: its metrics, its access log and its spans, if
    /// any; `client` is the caller's address, `caller` its verified identity
    /// (inbound). `edge`: the request came from outside the mesh (the
    /// gateway), so its span is a server's.
    public init(
        loop: ProxyLoop, direction: ProxyMetrics.Direction, client: String? = nil, caller: String? = nil,
        edge: Bool = false
    ) {
        self.metrics = loop.metrics
        self.direction = direction
        self.started = .now()
        self.peer = caller
        self.client = client
        if let log = loop.accessLog, log.sampled() {
            self.log = log
            entry = AccessLogBuffer.Entry(client: client, caller: caller)
        } else {
            self.log = nil
        }
        self.spans = loop.spans
        self.traceIDs = loop.spans == nil ? nil : loop.traceIDs
        self.spanKind = direction == .inbound || edge ? .server : .client
        if spans != nil { span = SpanState(startNanos: SpanBuffer.wallClockNanos()) }
    }

    /// The request's head, as it arrived: what the access log line and the
    /// span say of it, read in one pass when either is kept.
    public mutating func requestBegan(_ headers: [HTTP2Header]) {
        guard span != nil || entry != nil else { return }
        var (method, authority, path, host, traceParent) = ("", "", "", "", String?.none)
        for header in headers {
            switch header.name {
            case ":method": method = header.value
            case ":authority": authority = header.value
            case ":path": path = header.value
            case "host": host = header.value
            case WeftHeaders.traceParent: traceParent = header.value
            default: break
            }
        }
        if authority.isEmpty { authority = host }
        if span != nil {
            span?.method = method
            span?.authority = authority
            span?.path = path
            span?.incoming = traceParent.flatMap(TraceContext.init)
        }
        if entry != nil {
            entry?.method = method
            entry?.authority = authority
            entry?.path = path
            entry?.traceParent = traceParent
        }
    }

    /// Where the request was sent: the rule that took it (if a route table
    /// did) and the upstream. Per-route metrics count it under both. When the
    /// proxy records spans, the plan's `traceparent` becomes this hop's span.
    public mutating func routed(_ plan: inout ForwardingPlan) {
        if case .application = plan.target {
            forwarded(route: nil, upstream: "application", headers: &plan.headers)
        } else {
            forwarded(route: plan.route, upstream: plan.name, headers: &plan.headers)
        }
    }

    /// Where the request went, and its head as sent there (the caller's
    /// verified identity on the inbound side, the trace it joined). When the
    /// proxy records spans, `headers` carries this hop's span on as the parent
    /// of the next.
    public mutating func forwarded(route: String?, upstream: String, headers: inout [HTTP2Header]) {
        if span != nil, let context = decideSpan() {
            if let index = headers.firstIndex(where: { $0.name == WeftHeaders.traceParent }) {
                headers[index] = HTTP2Header(WeftHeaders.traceParent, context.header)
            } else {
                headers.append(HTTP2Header(WeftHeaders.traceParent, context.header))
            }
            // A trace this proxy started has no state from the caller to carry.
            if span?.incoming == nil { headers.removeAll { $0.name == WeftHeaders.traceState } }
        }
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
        if let spans, span != nil, let context = decideSpan(), context.sampled, let state = span {
            spans.append(
                SpanBuffer.Span(
                    context: context, parent: state.parent, kind: spanKind, startNanos: state.startNanos,
                    durationNanos: UInt64(max(0, (NIODeadline.now() - started).nanoseconds)), method: state.method,
                    path: state.path, authority: state.authority, status: code, route: route, upstream: upstream,
                    peer: peer, client: client, error: error?.status.reason))
        }
    }

    /// This hop's span context, decided once: a caller's sampled trace gets a
    /// child span; a caller's unsampled trace none (passed on untouched); a
    /// request without a valid `traceparent` a new trace, recorded at the
    /// proxy's sampling ratio. Nil when nothing is recorded.
    private mutating func decideSpan() -> TraceContext? {
        guard var state = span, let traceIDs, let spans else { return nil }
        if let context = state.context { return context }
        let context: TraceContext
        if let incoming = state.incoming {
            guard incoming.sampled else {
                span = nil
                return nil
            }
            context = TraceContext(
                traceHigh: incoming.traceHigh, traceLow: incoming.traceLow, spanID: traceIDs.spanID(), sampled: true)
            state.parent = incoming.spanID
        } else {
            context = traceIDs.newTrace(sampled: spans.samplesNewTrace(traceIDs))
        }
        state.context = context
        span = state
        return context
    }
}

@available(*, unavailable)
extension RequestObserver: Sendable {}
