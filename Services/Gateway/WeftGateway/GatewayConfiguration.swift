public import WeftProtocol
public import WeftProxy

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
