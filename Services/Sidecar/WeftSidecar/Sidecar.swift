public import Logging
public import NIOCore
public import NIOPosix
import WeftHTTP2
public import WeftIdentity
public import WeftProtocol
public import WeftProxy
import WeftService
import WeftTLS

#if canImport(Glibc)
    import Glibc
#endif

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A running sidecar: the inbound mesh port, the outbound ports, the admin port,
/// and the snapshot they all run on.
///
/// Startup fails, with a message that says which input is wrong, before any port
/// opens: unreadable or mismatched certificate and key, a certificate whose
/// identity is not this service's, an invalid snapshot, a port in use.
public final class Sidecar: Sendable {
    public typealias StartupError = ProxyStartupError

    public let configuration: SidecarConfiguration
    public let group: MultiThreadedEventLoopGroup
    public let loops: ProxyLoops
    public let inbound: ProxyListener
    public let outbound: [ProxyListener]
    public let admin: AdminServer?
    private let watcher: SnapshotWatcher
    private let logger: Logger
    public let identity: SPIFFEID
    /// The mesh certificate and bundle, renewed at runtime with weft-ca.
    public let workload: WorkloadIdentity
    /// Keeps the application's instance registered (`--register`).
    public let registrar: InstanceRegistrar?

    private init(
        configuration: SidecarConfiguration, group: MultiThreadedEventLoopGroup, loops: ProxyLoops,
        inbound: ProxyListener, outbound: [ProxyListener], admin: AdminServer?, watcher: SnapshotWatcher,
        logger: Logger, identity: SPIFFEID, workload: WorkloadIdentity,
        registrar: InstanceRegistrar?
    ) {
        self.configuration = configuration
        self.group = group
        self.loops = loops
        self.inbound = inbound
        self.outbound = outbound
        self.admin = admin
        self.watcher = watcher
        self.logger = logger
        self.identity = identity
        self.workload = workload
        self.registrar = registrar
    }

    public static func start(_ configuration: SidecarConfiguration, logger: Logger) throws -> Sidecar {
        // Configuration first: nothing listens until every input is known good.
        try configuration.host.startingGroup { group in try start(configuration, group: group, logger: logger) }
    }

    private static func start(
        _ configuration: SidecarConfiguration, group: MultiThreadedEventLoopGroup, logger: Logger
    ) throws -> Sidecar {
        let namespace = configuration.service.namespace
        let (source, initial, identity, workload) = try configuration.host.startingPoint(
            request: try configuration.discoveryRequest(), service: configuration.service, group: group,
            logger: logger)
        let (serverTLS, clientTLS) = (workload.server, workload.client)
        let application = LocalApplication(
            host: configuration.applicationHost, port: configuration.applicationPort,
            protocolKind: configuration.applicationProtocol)
        let loops = try ProxyLoops(
            group: group, snapshot: ProxySnapshot(initial, namespace: namespace),
            mesh: MeshConnector(tls: clientTLS), application: application, locality: configuration.locality,
            accessLog: try configuration.host.openAccessLog(proxyName: "weft-sidecar"),
            tracer: configuration.host.startTracer(
                proxyName: "weft-sidecar", service: configuration.service,
                instance: configuration.registration?.id?.rawValue, group: group, logger: logger))
        let errors = ProxyErrorResponse(proxyName: "weft-sidecar")
        let policy = InboundRequestPolicy(service: configuration.service)
        let inboundLogger = logger
        let inbound = try ProxyListener.bind(
            name: "inbound", host: configuration.inbound.host, port: configuration.inbound.port, group: group
        ) { channel in
            try InboundPipeline.configure(
                channel, tls: serverTLS, loops: loops, policy: policy, errors: errors
            ) { reason in inboundLogger.warning("inbound \(reason)") }
        }.wait()
        var outbound: [ProxyListener] = []
        for upstream in configuration.upstreams {
            outbound.append(
                try ProxyListener.bind(
                    name: "upstream \(upstream.name)", host: upstream.host, port: upstream.port, group: group
                ) { channel in
                    try OutboundPipeline.configure(
                        channel, target: .upstream(upstream.name), loops: loops, errors: errors)
                }.wait())
        }
        if let proxy = configuration.outboundProxy {
            outbound.append(
                try ProxyListener.bind(name: "outbound proxy", host: proxy.host, port: proxy.port, group: group) {
                    channel in
                    try OutboundPipeline.configure(channel, target: .byAuthority, loops: loops, errors: errors)
                }.wait())
        }
        let watcher = source.watch(loops: loops, logger: logger)
        workload.start()
        let registrar = try configuration.registrar(inboundPort: inbound.port, workload: workload, logger: logger)
        registrar?.start()
        let admin = try configuration.host.admin.map { address in
            try AdminServer.start(
                host: address.host, port: address.port, group: group, loops: loops,
                workload: workload, prefix: "weft_sidecar", listeners: [inbound] + outbound
            ).wait()
        }
        return Sidecar(
            configuration: configuration, group: group, loops: loops, inbound: inbound, outbound: outbound,
            admin: admin, watcher: watcher, logger: logger, identity: identity, workload: workload,
            registrar: registrar)
    }

    /// Graceful shutdown: stop accepting on every port, let in-flight requests
    /// finish (HTTP/2 GOAWAY to callers, HTTP/1.1 after the current response),
    /// close what remains at `deadline`, then stop the loops.
    public func shutdown(deadline: TimeAmount) {
        // Callers stop choosing this instance first (critical in the registry,
        // then --drain-delay for them to hear of it), then the ports drain, then
        // the instance goes.
        if let registrar {
            registrar.markDraining()
            // Callers pick the change up from discovery and stop choosing this
            // instance; meanwhile every port still serves.
            usleep(UInt32(max(0, configuration.registration?.drainDelay ?? 0)) * 1_000_000)
        }
        workload.stop()
        loops.shutdown(
            listeners: [inbound] + outbound, watcher: watcher, admin: admin, group: group, deadline: deadline)
        registrar?.deregister()
    }
}

extension SidecarConfiguration {
    /// The registrar `--register` asks for, its instance completed with what is
    /// known once the inbound port is bound.
    func registrar(inboundPort: Int, workload: WorkloadIdentity, logger: Logger) throws -> InstanceRegistrar? {
        guard let registration else { return nil }
        guard host.registry != nil else { throw ProxyStartupError("--register needs --registry") }
        let port = registration.port ?? inboundPort
        let hostName = ProcessInfo.processInfo.hostName
        let address: HostAddress
        do {
            if let given = registration.address {
                address = given
            } else if inbound.host != "0.0.0.0" && inbound.host != "::" {
                address = try HostAddress(validating: inbound.host)
            } else {
                address = try HostAddress(validating: hostName)
            }
        } catch {
            throw ProxyStartupError(
                "--register: cannot advertise \(hostName) (\(error)); give --advertise host:port")
        }
        let id: InstanceID
        do {
            id = try registration.id ?? InstanceID(validating: Self.instanceID(hostName, port))
        } catch {
            throw ProxyStartupError("--register: no usable instance id from \(hostName); give --instance-id")
        }
        let instance: Instance
        do {
            instance = try Instance(
                id: id, service: service.service, namespace: service.namespace, address: address, port: port,
                zone: registration.zone, labels: registration.labels, ttl: registration.ttl)
        } catch {
            throw ProxyStartupError("--register: \(error)")
        }
        let settings = RegistrationSettings(
            instance: instance, check: registration.check,
            interval: registration.interval.map { .seconds($0) })
        // Its calls outlive the proxy's loops (the last one deregisters).
        return InstanceRegistrar(
            settings: settings,
            client: host.registryClient(group: MultiThreadedEventLoopGroup.singleton, workload: workload),
            tokenFile: host.registryTokenFile ?? "",
            application: (applicationHost, applicationPort), logger: logger)
    }

    /// `<host name>-<port>`, with what an instance id may not hold replaced.
    static func instanceID(_ hostName: String, _ port: Int) -> String {
        let cleaned = hostName.prefix(100).map { character -> Character in
            character.isASCII && (character.isLetter || character.isNumber || "-_.".contains(character))
                ? character : "-"
        }
        return String(cleaned) + "-\(port)"
    }
}
