public import WeftProtocol
public import WeftProxy

/// Everything a sidecar is started with: who it is, where its application
/// listens, the ports it opens, and (in `host`) its certificate, where its
/// configuration comes from and its admin port. Built by `weft-sidecar`'s flags.
public struct SidecarConfiguration: Sendable {
    /// An upstream the application reaches on a loopback port of its own.
    public struct UpstreamPort: Sendable, Equatable {
        public var name: String
        public var host: String
        public var port: Int
        public init(name: String, host: String, port: Int) {
            self.name = name
            self.host = host
            self.port = port
        }
    }

    /// The service this sidecar's application is (its identity must match).
    public var service: ServiceReference
    /// The mesh port other proxies call (mutual TLS, HTTP/2).
    public var inbound: ListenAddress
    /// The application: address, port, protocol.
    public var applicationHost: String
    public var applicationPort: Int
    public var applicationProtocol: ServiceProtocol
    public var upstreams: [UpstreamPort]
    /// The HTTP proxy port (`HTTP_PROXY=http://127.0.0.1:15001`), when wanted.
    public var outboundProxy: ListenAddress?
    /// Certificate, snapshot source, admin port, threads, drain time.
    public var host: ProxyHostConfiguration
    /// Where this sidecar runs, for locality-aware balancing.
    public var locality = Locality()
    /// Register the application's instance with the registry (`--register`).
    public var registration: Registration?

    /// The application's instance as the sidecar registers it; what is left
    /// nil is decided when the inbound port is bound.
    public struct Registration: Sendable {
        /// Default: `<host name>-<inbound port>`.
        public var id: InstanceID?
        /// Where other proxies reach the inbound port. Default: the inbound
        /// address, or this machine's host name when it listens on all addresses
        /// (a container's name on its network).
        public var address: HostAddress?
        /// Default: the inbound port as bound.
        public var port: Int?
        public var zone: String?
        public var labels: Labels = [:]
        public var ttl: WeftDuration = Instance.defaultTTL
        public var check: RegistrationSettings.HealthCheck = .tcp
        /// Default: a third of the TTL.
        public var interval: Int64?
        /// On SIGTERM, how long the instance stays up after it is reported
        /// critical, so callers learn it is leaving before its ports stop taking
        /// new requests (discovery carries the change in well under a second).
        public var drainDelay: Int64 = 2

        public init() {}
    }

    public init(
        service: ServiceReference, inbound: ListenAddress, applicationHost: String = "127.0.0.1", applicationPort: Int,
        applicationProtocol: ServiceProtocol = .http, upstreams: [UpstreamPort] = [],
        outboundProxy: ListenAddress? = nil, host: ProxyHostConfiguration
    ) {
        self.service = service
        self.inbound = inbound
        self.applicationHost = applicationHost
        self.applicationPort = applicationPort
        self.applicationProtocol = applicationProtocol
        self.upstreams = upstreams
        self.outboundProxy = outboundProxy
        self.host = host
    }
}

extension SidecarConfiguration {
    /// The discovery request of this sidecar: its service, and the upstreams its
    /// `--upstream` flags name (`cart`, `cart.shop`, `cart.shop.mesh`; a name
    /// without a namespace is in the sidecar's own).
    func discoveryRequest() throws -> DiscoveryRequest {
        var references: [ServiceReference] = []
        for port in upstreams {
            let labels = port.name.split(separator: ".")
            let name = try ServiceName(validating: String(labels[0]))
            let namespace =
                labels.count > 1 ? try NamespaceName(validating: String(labels[1])) : service.namespace
            let reference = ServiceReference(service: name, namespace: namespace)
            if !references.contains(reference) { references.append(reference) }
        }
        return try DiscoveryRequest(kind: .sidecar, service: service, upstreams: references)
    }
}
