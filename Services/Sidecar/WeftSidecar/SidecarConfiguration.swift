public import WeftProtocol
public import WeftService

/// Everything a sidecar is started with: who it is, where its application
/// listens, the ports it opens, its certificate and trust bundle, and where its
/// configuration comes from. Built by `weft-sidecar`'s flags; tests build it
/// directly.
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
    /// `/live`, `/ready`, `/metrics`.
    public var admin: ListenAddress?
    /// PEM files: our chain (leaf first), its key, the trust bundle.
    public var certificateFile: String
    public var keyFile: String
    public var bundleFile: String
    /// Serials (hex) refused anywhere in a peer's chain.
    public var revokedSerials: Set<String> = []
    /// A discovery snapshot in a file (the registry's answer, as JSON), reread
    /// when it changes.
    public var snapshotFile: String
    /// The registry whose discovery API this sidecar watches, and the file holding
    /// its credential (a per-service `wsc_` credential, or the admin token). Nil:
    /// the snapshot file alone configures the sidecar (reread when it changes).
    public var registry: ControlPlaneClient.Endpoint?
    public var registryTokenFile: String?
    public var threads: Int = 1
    /// How long in-flight requests may take to finish on SIGTERM.
    public var drainTimeout: Int = 10

    public init(
        service: ServiceReference, inbound: ListenAddress, applicationHost: String = "127.0.0.1", applicationPort: Int,
        applicationProtocol: ServiceProtocol = .http, upstreams: [UpstreamPort] = [],
        outboundProxy: ListenAddress? = nil,
        admin: ListenAddress? = nil, certificateFile: String, keyFile: String, bundleFile: String, snapshotFile: String
    ) {
        self.service = service
        self.inbound = inbound
        self.applicationHost = applicationHost
        self.applicationPort = applicationPort
        self.applicationProtocol = applicationProtocol
        self.upstreams = upstreams
        self.outboundProxy = outboundProxy
        self.admin = admin
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.bundleFile = bundleFile
        self.snapshotFile = snapshotFile
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
