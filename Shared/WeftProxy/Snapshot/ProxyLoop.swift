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
    private let mesh: MeshConnector
    private let poolConfiguration: HTTP2ConnectionPool.Configuration
    /// Keyed by identity and endpoint: a new identity for the same address is a
    /// new pool, never a connection verified for someone else.
    private var meshPools: [String: HTTP2ConnectionPool] = [:]
    private var pickers: [String: EndpointPicker] = [:]
    private var applicationHTTP1: HTTP1ConnectionPool?
    private var applicationHTTP2: HTTP2ConnectionPool?
    public let application: LocalApplication?
    public private(set) var isDraining = false

    init(
        eventLoop: any EventLoop, snapshot: ProxySnapshot, mesh: MeshConnector,
        poolConfiguration: HTTP2ConnectionPool.Configuration, application: LocalApplication?
    ) {
        self.eventLoop = eventLoop
        self.snapshot = snapshot
        self.mesh = mesh
        self.poolConfiguration = poolConfiguration
        self.application = application
    }

    /// Runs on `snapshot` from now on. Pools of endpoints it no longer lists drain:
    /// their streams finish, then their connections close.
    func apply(_ snapshot: ProxySnapshot) {
        eventLoop.preconditionInEventLoop()
        self.snapshot = snapshot
        pickers.removeAll()
        var wanted = Set<String>()
        for upstream in snapshot.upstreams.values {
            for endpoint in upstream.endpoints { wanted.insert(endpoint.poolKey) }
        }
        for (key, pool) in meshPools where !wanted.contains(key) {
            pool.drain()
            meshPools.removeValue(forKey: key)
        }
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

    /// Opens a stream to one endpoint of `upstream`, or fails with a `ProxyError`.
    public func openMeshStream(
        to upstream: ProxySnapshot.Upstream, _ headers: [HTTP2Header], endStream: Bool, handler: any HTTP2StreamHandler
    ) -> EventLoopFuture<HTTP2Stream> {
        eventLoop.preconditionInEventLoop()
        let name = upstream.name
        guard !isDraining else { return eventLoop.makeFailedFuture(ProxyError.shuttingDown) }
        // Mutated in place in the dictionary: no copy of the picker's state per request.
        guard
            let index = pickers[upstream.balancerKey, default: EndpointPicker(weights: upstream.endpoints.map(\.weight))]
                .next()
        else {
            return eventLoop.makeFailedFuture(ProxyError.noEndpoints(name))
        }
        let endpoint = upstream.endpoints[index]
        let key = endpoint.poolKey
        let pool: HTTP2ConnectionPool
        if let existing = meshPools[key] {
            pool = existing
        } else {
            let mesh = self.mesh
            let identity = upstream.identity
            pool = HTTP2ConnectionPool(eventLoop: eventLoop, configuration: poolConfiguration) { loop in
                mesh.connect(host: endpoint.host, port: endpoint.port, identity: identity, on: loop)
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
