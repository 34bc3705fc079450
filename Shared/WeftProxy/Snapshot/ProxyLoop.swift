public import NIOCore
import NIOPosix
public import WeftHTTP2
public import WeftProtocol

/// What one event loop of a proxy holds: the snapshot it runs on, its connection
/// pools (one per mesh endpoint, one to the local application), its balancer state
/// and its counters. Only its own loop touches it, so nothing here is locked; the
/// snapshot is replaced whole by `apply`, and a request in flight keeps the pools
/// and streams it already has.
public final class ProxyLoop {
    public let eventLoop: any EventLoop
    public private(set) var snapshot: ProxySnapshot
    public let metrics = ProxyMetrics()
    public let traceIDs = TraceIDGenerator()
    /// The deadlines of this loop's requests.
    public let timers: LoopTimers
    /// Balancing, splits and fault injection draw from it.
    public var random = FastRandom()
    /// Where this proxy runs, for locality-aware balancing.
    public let locality: Locality
    /// Nil only in tests that exercise the application side alone.
    private let mesh: MeshConnector?
    private let poolConfiguration: HTTP2ConnectionPool.Configuration
    /// Keyed by identity and endpoint: a new identity for the same address is a
    /// new pool, never a connection verified for someone else.
    private var meshPools: [String: HTTP2ConnectionPool] = [:]
    /// Each upstream's endpoint record, breakers and budget; kept across snapshots.
    private var upstreamStates: [ServiceReference: UpstreamState] = [:]
    /// The proxy's rate limits, shared with its other loops.
    let rateLimiters: RateLimiters
    /// Mirrored requests in flight (bounded by `MirrorSink.limit`).
    var mirrorsInFlight = 0
    private var applicationHTTP1: HTTP1ConnectionPool?
    private var applicationHTTP2: HTTP2ConnectionPool?
    public let application: LocalApplication?
    public private(set) var isDraining = false
    /// This loop's share of the access log, when the proxy keeps one.
    public let accessLog: AccessLogBuffer?
    /// This loop's spans, when the proxy exports them.
    public let spans: SpanBuffer?

    init(
        eventLoop: any EventLoop, snapshot: ProxySnapshot, mesh: MeshConnector?,
        poolConfiguration: HTTP2ConnectionPool.Configuration, application: LocalApplication?,
        locality: Locality = Locality(), rateLimiters: RateLimiters = RateLimiters(), accessLog: AccessLog? = nil,
        tracer: SpanExporter? = nil
    ) {
        self.eventLoop = eventLoop
        self.accessLog = accessLog.map { AccessLogBuffer(log: $0, eventLoop: eventLoop) }
        self.spans = tracer.map { SpanBuffer(exporter: $0, eventLoop: eventLoop) }
        self.timers = LoopTimers(eventLoop: eventLoop)
        self.snapshot = snapshot
        self.mesh = mesh
        self.poolConfiguration = poolConfiguration
        self.application = application
        self.locality = locality
        self.rateLimiters = rateLimiters
        applyPolicies(snapshot)
    }

    /// Runs on `snapshot` from now on. Pools of endpoints it no longer lists drain:
    /// their streams finish, then their connections close.
    func apply(_ snapshot: ProxySnapshot) {
        eventLoop.preconditionInEventLoop()
        self.snapshot = snapshot
        applyPolicies(snapshot)
        var wanted = Set<String>()
        for upstream in snapshot.upstreams.values {
            for endpoint in upstream.endpoints { wanted.insert(endpoint.poolKey) }
        }
        for (key, pool) in meshPools where !wanted.contains(key) {
            pool.drain()
            meshPools.removeValue(forKey: key)
        }
    }

    /// Brings the upstreams' records and the rate limits to `snapshot`.
    private func applyPolicies(_ snapshot: ProxySnapshot) {
        let now = NIODeadline.now()
        var states: [ServiceReference: UpstreamState] = [:]
        for (reference, upstream) in snapshot.upstreams {
            if let existing = upstreamStates[reference] {
                existing.update(upstream, now: now)
                states[reference] = existing
            } else {
                states[reference] = UpstreamState(
                    upstream, zone: locality.zone, datacenter: locality.datacenter, now: now)
            }
        }
        upstreamStates = states
    }

    /// The loop's record of `upstream`'s service (made for a service the
    /// snapshot does not list, such as a hand-written route's destination).
    public func state(for upstream: ProxySnapshot.Upstream) -> UpstreamState {
        if let state = upstreamStates[upstream.reference] { return state }
        let state = UpstreamState(upstream, zone: locality.zone, datacenter: locality.datacenter, now: .now())
        upstreamStates[upstream.reference] = state
        return state
    }

    /// Takes a token of the inbound rate limit for `caller`, or returns the
    /// seconds to wait; nil when allowed (or no limit is set).
    public func inboundRateLimit(caller: String) -> Int? {
        guard let limit = snapshot.inboundPolicy?.rateLimit else { return nil }
        return rateLimiters.take("inbound", limit: limit, key: caller)
    }

    /// Takes a token of route `route`'s limit for `key`, or returns the seconds
    /// to wait.
    public func routeRateLimit(_ route: String, limit: RateLimit, key: String) -> Int? {
        rateLimiters.take("route " + route, limit: limit, key: key)
    }

    /// What this loop knows of every upstream's endpoints, for the admin port.
    func endpointReport(now: NIODeadline) -> [EndpointReport] {
        var report: [EndpointReport] = []
        for (reference, state) in upstreamStates {
            let set = state.endpoints
            for slot in 0..<set.count {
                let record = set.states[slot]
                let ejectedFor = record.ejectedUntil.map { max(0, ($0 - now).nanoseconds) / 1_000_000 } ?? 0
                report.append(
                    EndpointReport(
                        upstream: reference.description,
                        endpoint: String(set.keys[slot].split(separator: "@").last ?? ""), zone: set.zones[slot],
                        weight: set.weights[slot], inFlight: record.inFlight,
                        latencyMilliseconds: record.latency.map { $0 / 1e6 },
                        consecutiveFailures: record.consecutiveFailures, ejectedForMilliseconds: ejectedFor,
                        ejections: record.ejections, warming: record.warmUntil.map { $0 > now } ?? false,
                        balancer: state.policy.loadBalancer))
            }
        }
        return report
    }

    /// Stops every pool: the proxy is shutting down.
    func drain() {
        isDraining = true
        for pool in meshPools.values { pool.drain() }
        meshPools.removeAll()
        applicationHTTP2?.drain()
        applicationHTTP1?.close()
    }

    // MARK: The mesh (outbound)

    /// Opens a stream to one endpoint of `upstream`, chosen by its balancer, or
    /// fails with a `ProxyError`: for streams that are not retried (tunnels).
    public func openMeshStream(
        to upstream: ProxySnapshot.Upstream, _ headers: [HTTP2Header], endStream: Bool, handler: any HTTP2StreamHandler
    ) -> EventLoopFuture<HTTP2Stream> {
        eventLoop.preconditionInEventLoop()
        guard !isDraining else { return eventLoop.makeFailedFuture(ProxyError.shuttingDown) }
        guard let slot = state(for: upstream).pick(upstream, hashKey: nil, avoiding: nil, now: .now(), random: &random)
        else {
            return eventLoop.makeFailedFuture(ProxyError.noEndpoints(upstream.name))
        }
        return openMeshStream(
            to: upstream, endpoint: upstream.allEndpoints[slot], headers, endStream: endStream, handler: handler)
    }

    /// Opens a stream to `endpoint` of `upstream` on its pooled connection.
    public func openMeshStream(
        to upstream: ProxySnapshot.Upstream, endpoint: ProxySnapshot.UpstreamEndpoint, _ headers: [HTTP2Header],
        endStream: Bool, handler: any HTTP2StreamHandler
    ) -> EventLoopFuture<HTTP2Stream> {
        let name = upstream.name
        guard !isDraining else { return eventLoop.makeFailedFuture(ProxyError.shuttingDown) }
        guard let mesh else { return eventLoop.makeFailedFuture(ProxyError.shuttingDown) }
        let key = endpoint.poolKey
        let pool: HTTP2ConnectionPool
        if let existing = meshPools[key] {
            pool = existing
        } else {
            let identity = upstream.identity
            let reference = upstream.reference
            pool = HTTP2ConnectionPool(eventLoop: eventLoop, configuration: poolConfiguration) {
                [unowned self] loop in
                // The breaker's connection limit covers the service's endpoints together.
                if let state = upstreamStates[reference] {
                    let open = state.endpoints.keys.reduce(0) { $0 + (meshPools[$1]?.connectionCount ?? 0) }
                    guard state.breaker.mayConnect(open: open) else {
                        metrics.recordPolicy(.circuitOpen)
                        return loop.makeFailedFuture(
                            ProxyError.circuitOpen(
                                "\(name): \(open) connections are open, the limit (circuit_breaker.max_connections)"))
                    }
                }
                return mesh.connect(host: endpoint.host, port: endpoint.port, identity: identity, on: loop)
            }
            pool.onDial = { [metrics] in metrics.recordDial(.mesh) }
            meshPools[key] = pool
        }
        let endpointKey = endpoint.key
        return pool.openStream(headers, endStream: endStream, handler: handler) { error in
            Self.proxyError(error, upstream: name, endpoint: endpointKey)
        }
    }

    static func proxyError(_ error: any Error, upstream: String, endpoint: String) -> ProxyError {
        switch error {
        case let error as ProxyError:
            return error
        case let failure as HTTP2ConnectionPool.Failure:
            switch failure {
            case .exhausted: return .overloaded(upstream)
            case .connectFailed(let reason):
                return .connectFailed(endpoint: "\(upstream) at \(endpoint)", reason: reason)
            case .closed: return .shuttingDown
            }
        case let error as HTTP2Error where error.isSafeToRetry:
            return .refused(error.reason)
        default:
            return .upstreamReset("\(error)")
        }
    }

    // MARK: The local application (inbound)

    /// The application's HTTP/1.1 pool (for `http` services).
    public func applicationHTTP1Pool() -> HTTP1ConnectionPool? {
        guard let application, application.protocolKind == .http else { return nil }
        if let pool = applicationHTTP1 { return pool }
        let pool = HTTP1ConnectionPool(
            host: application.host, port: application.port, eventLoop: eventLoop,
            configuration: application.http1Configuration)
        pool.onDial = { [metrics] in metrics.recordDial(.application) }
        applicationHTTP1 = pool
        return pool
    }

    /// Opens an h2c stream to the application (for `http2` and `grpc` services).
    public func openApplicationStream(_ headers: [HTTP2Header], endStream: Bool, handler: any HTTP2StreamHandler)
        -> EventLoopFuture<HTTP2Stream>
    {
        guard let application else {
            return eventLoop.makeFailedFuture(ProxyError.applicationUnavailable("no application is configured"))
        }
        let pool: HTTP2ConnectionPool
        if let existing = applicationHTTP2 {
            pool = existing
        } else {
            let (host, port, configuration) = (application.host, application.port, application.http2)
            pool = HTTP2ConnectionPool(eventLoop: eventLoop, configuration: poolConfiguration) { loop in
                ClientBootstrap(group: loop)
                    .connectTimeout(.seconds(2))
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                try HTTP2ConnectionHandler(clientConfiguration: configuration))
                            try channel.pipeline.syncOperations.addHandler(CloseOnErrorHandler())
                        }
                    }
                    .connect(endpoint: host, port: port)
            }
            applicationHTTP2 = pool
        }
        let name = "the local application"
        let endpoint = "\(application.host):\(application.port)"
        return pool.openStream(headers, endStream: endStream, handler: handler) { error in
            switch error {
            case HTTP2ConnectionPool.Failure.exhausted: ProxyError.overloaded(name)
            case HTTP2ConnectionPool.Failure.connectFailed(let reason): ProxyError.applicationUnavailable(reason)
            default: Self.proxyError(error, upstream: name, endpoint: endpoint)
            }
        }
    }
}

@available(*, unavailable)
extension ProxyLoop: Sendable {}

/// One endpoint as one loop sees it (the admin port's `/endpoints`).
public struct EndpointReport: Sendable {
    public var upstream: String
    public var endpoint: String
    public var zone: String?
    public var weight: Int
    public var inFlight: Int
    public var latencyMilliseconds: Double?
    public var consecutiveFailures: Int
    public var ejectedForMilliseconds: Int64
    public var ejections: Int
    public var warming: Bool
    public var balancer: LoadBalancerPolicy
}

/// Where a proxy runs: its zone and datacenter (an endpoint's `datacenter`
/// label), for locality-aware balancing. Both nil: every endpoint is equal.
public struct Locality: Sendable, Equatable {
    public var zone: String?
    public var datacenter: String?

    public init(zone: String? = nil, datacenter: String? = nil) {
        self.zone = zone
        self.datacenter = datacenter
    }
}

/// The application a sidecar fronts: where it listens and what it speaks.
public struct LocalApplication: Sendable {
    public var host: String
    public var port: Int
    public var protocolKind: ServiceProtocol
    public var http1Configuration = HTTP1ConnectionPool.Configuration()
    public var http2 = HTTP2Configuration()

    public init(host: String, port: Int, protocolKind: ServiceProtocol) {
        self.host = host
        self.port = port
        self.protocolKind = protocolKind
    }
}
