public import Logging
public import NIOCore
public import NIOPosix
public import WeftIdentity
public import WeftProtocol
public import WeftProxy
import WeftTLS

/// A running gateway: the external listener, the admin port, and the snapshot
/// (route table and the upstreams it reaches) they run on.
///
/// Startup fails, with a message that says which input is wrong, before any port
/// opens: unreadable or mismatched certificate and key, a certificate that is
/// not this gateway's identity, an invalid snapshot, a port in use.
public final class Gateway: Sendable {
    public typealias StartupError = ProxyStartupError

    public let configuration: GatewayConfiguration
    public let group: MultiThreadedEventLoopGroup
    public let loops: ProxyLoops
    public let listeners: [ProxyListener]
    public let admin: AdminServer?
    public let identity: SPIFFEID
    private let watcher: SnapshotWatcher
    /// The mesh certificate and bundle, renewed at runtime with weft-ca.
    public let workload: WorkloadIdentity
    /// The operator's certificates on the TLS listener, if there is one.
    public let certificates: GatewayCertificates?

    private init(
        configuration: GatewayConfiguration, group: MultiThreadedEventLoopGroup, loops: ProxyLoops,
        listeners: [ProxyListener], admin: AdminServer?, identity: SPIFFEID, watcher: SnapshotWatcher,
        workload: WorkloadIdentity, certificates: GatewayCertificates?
    ) {
        self.certificates = certificates
        self.configuration = configuration
        self.group = group
        self.loops = loops
        self.listeners = listeners
        self.admin = admin
        self.identity = identity
        self.watcher = watcher
        self.workload = workload
    }

    public static func start(_ configuration: GatewayConfiguration, logger: Logger) throws -> Gateway {
        // Configuration first: nothing listens until every input is known good.
        try configuration.host.startingGroup { group in try start(configuration, group: group, logger: logger) }
    }

    private static func start(
        _ configuration: GatewayConfiguration, group: MultiThreadedEventLoopGroup, logger: Logger
    ) throws -> Gateway {
        let namespace = configuration.name.namespace
        let (source, initial, identity, workload) = try configuration.host.startingPoint(
            request: try configuration.discoveryRequest(), service: configuration.name, group: group, logger: logger)
        // The gateway only dials into the mesh: the client side is all it uses.
        let clientTLS = workload.client
        let loops = try ProxyLoops(
            group: group, snapshot: ProxySnapshot(initial, namespace: namespace), mesh: MeshConnector(tls: clientTLS),
            application: nil, accessLog: try configuration.host.openAccessLog(proxyName: "weft-gateway"),
            tracer: configuration.host.startTracer(
                proxyName: "weft-gateway", service: configuration.name, instance: nil, group: group, logger: logger))
        let errors = ProxyErrorResponse(proxyName: "weft-gateway")
        let listen = configuration.listen
        let limits = configuration.limits
        // The operator's certificates, and the TLS listener first: the
        // cleartext port's redirect names the port it got.
        let certificates = try configuration.tls.map { tls in
            try GatewayCertificates(
                tls.certificates, minimumVersion: tls.minimumVersion, logger: logger)
        }
        var listeners: [ProxyListener] = []
        if let tls = configuration.tls, let certificates {
            let provider = certificates.provider
            let https = try ProxyListener.bind(
                name: "https", host: tls.listen.host, port: tls.listen.port, group: group,
                maximumConnections: limits.maximumConnections
            ) { channel in
                try GatewayPipeline.configureTLS(channel, tls: provider, loops: loops, errors: errors, limits: limits)
            }.wait()
            listeners.append(https)
            logger.info("TLS certificates: \(GatewayCertificates.describe(certificates.names))")
        }
        let redirectPort: Int? =
            configuration.redirectToHTTPSPort
            ?? (configuration.redirectToHTTPS ? listeners.first?.channel.localAddress?.port : nil)
        let http = try ProxyListener.bind(
            name: "http", host: listen.host, port: listen.port, group: group,
            maximumConnections: limits.maximumConnections
        ) { channel in
            try GatewayPipeline.configure(
                channel, scheme: "http", loops: loops, errors: errors, limits: limits, redirectToHTTPS: redirectPort)
        }.wait()
        listeners.insert(http, at: 0)
        let watcher = source.watch(loops: loops, logger: logger)
        workload.start()
        let admin = try configuration.host.admin.map { address in
            try AdminServer.start(
                host: address.host, port: address.port, group: group, loops: loops,
                workload: workload, prefix: "weft_gateway", listeners: listeners,
                extra: { head, body in GatewayAdmin.respond(head, body, loops: loops) }
            ).wait()
        }
        return Gateway(
            configuration: configuration, group: group, loops: loops, listeners: listeners, admin: admin,
            identity: identity, watcher: watcher, workload: workload, certificates: certificates)
    }

    /// Graceful shutdown: stop accepting, let in-flight requests finish (HTTP/2
    /// GOAWAY to clients, HTTP/1.1 after the current response), close what
    /// remains at `deadline`, then stop the loops.
    public func shutdown(deadline: TimeAmount) {
        workload.stop()
        certificates?.stop()
        loops.shutdown(listeners: listeners, watcher: watcher, admin: admin, group: group, deadline: deadline)
    }
}
