public import WeftProtocol
public import WeftProxy
public import WeftTLS

/// Everything a gateway is started with: its name (which is its mesh identity
/// and the key of its route table in the registry), the port external clients
/// call, and (in `host`) its certificate, where its configuration comes from
/// and its admin port. Built by `weft-gateway`'s flags.
public struct GatewayConfiguration: Sendable {
    /// The gateway's name and namespace: its SPIFFE ID is
    /// `spiffe://<trust domain>/ns/<namespace>/sa/<name>`, which intentions name
    /// to let it call a service.
    public var name: ServiceReference
    /// HTTP/1.1 and h2c (prior knowledge) for external clients.
    public var listen: ListenAddress
    /// Certificate, snapshot source, admin port, threads, drain time.
    public var host: ProxyHostConfiguration
    /// What every external client is held to (connections, head time, idle
    /// time, body size).
    public var limits = EdgeLimits()
    /// The TLS listener, if any.
    public var tls: TLSListener?
    /// With `tls`: the cleartext port answers every request 308 to the same
    /// URL under `https://`, on the TLS listener's port or, when set,
    /// `redirectToHTTPSPort` (the port clients reach it on through a mapping).
    public var redirectToHTTPS = false
    public var redirectToHTTPSPort: Int?

    /// HTTPS for external clients: ALPN `h2` and `http/1.1`, the operator's
    /// certificates chosen by SNI and reloaded when their files change.
    public struct TLSListener: Sendable {
        public var listen: ListenAddress
        public var certificates: [GatewayCertificates.Files]
        /// TLS 1.2 by default at the edge: terminals and browsers of every age
        /// call it (the mesh itself is TLS 1.3 only).
        public var minimumVersion: TLSConfiguration.Version = .tls12

        public init(listen: ListenAddress, certificates: [GatewayCertificates.Files]) {
            self.listen = listen
            self.certificates = certificates
        }
    }

    public init(name: ServiceReference, listen: ListenAddress, host: ProxyHostConfiguration) {
        self.name = name
        self.listen = listen
        self.host = host
    }

    /// What the gateway asks the registry for: its route table and every service
    /// the routes reach.
    func discoveryRequest() throws -> DiscoveryRequest {
        try DiscoveryRequest(kind: .gateway, service: name)
    }
}
