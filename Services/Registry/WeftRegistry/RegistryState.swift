public import WeftProtocol

/// Everything the registry stores, at one version, held in memory by every replica.
///
/// Discovery answers and admin reads come from here, not from PostgreSQL: a
/// thousand watchers woken by one change cost one load of the state, not a
/// thousand queries, and reads keep working on the last known state while the
/// database is away (DESIGN.md, failure semantics). A state is immutable; a newer
/// one replaces it whole.
public struct RegistryState: Sendable {
    public var version: UInt64
    /// When this state was read, on the database's clock.
    public var loadedAt: Timestamp
    public var services: [ServiceReference: Versioned<Service>]
    /// Per service, sorted by instance id.
    public var instances: [ServiceReference: [InstanceRecord]]
    public var policies: [ServiceReference: Versioned<TrafficPolicy>]
    public var serviceRoutes: [ServiceReference: Versioned<RouteTable>]
    public var gatewayRoutes: [ServiceReference: Versioned<RouteTable>]
    /// Sorted by id.
    public var intentions: [IntentionRecord]
    public var defaults: Versioned<MeshDefaults>
    /// What changed since the state this one was loaded on top of.
    public var changes: StateChanges = .everything

    public init(
        version: UInt64, loadedAt: Timestamp, services: [ServiceReference: Versioned<Service>] = [:],
        instances: [ServiceReference: [InstanceRecord]] = [:],
        policies: [ServiceReference: Versioned<TrafficPolicy>] = [:],
        serviceRoutes: [ServiceReference: Versioned<RouteTable>] = [:],
        gatewayRoutes: [ServiceReference: Versioned<RouteTable>] = [:], intentions: [IntentionRecord] = [],
        defaults: Versioned<MeshDefaults> = Versioned(.default, modifyVersion: 0)
    ) {
        self.version = version
        self.loadedAt = loadedAt
        self.services = services
        self.instances = instances
        self.policies = policies
        self.serviceRoutes = serviceRoutes
        self.gatewayRoutes = gatewayRoutes
        self.intentions = intentions
        self.defaults = defaults
    }

    /// The snapshot one proxy asked for: its upstreams (endpoints that receive
    /// traffic, policy, routes) and the intentions guarding its own service; for a
    /// gateway, its route table and every service those routes reach.
    ///
    /// An upstream that is not registered yet appears with no endpoints, so the
    /// proxy answers 503 for it (and learns of it at the next change) rather than
    /// treating the name as a typo.
    public func snapshot(for request: DiscoveryRequest) throws(ProtocolError) -> DiscoverySnapshot {
        let upstreams = try reachedServices(for: request).prefix(ProtocolLimits.upstreamsPerRequest).map {
            (reference) throws(ProtocolError) -> UpstreamSnapshot in try upstream(reference)
        }
        return try snapshot(for: request, upstreams: upstreams)
    }

    /// The snapshot for `request` with the given upstreams (the cache passes none
    /// and splices in upstreams it encoded before).
    func snapshot(for request: DiscoveryRequest, upstreams: [UpstreamSnapshot]) throws(ProtocolError)
        -> DiscoverySnapshot
    {
        let routes = request.kind == .gateway ? gatewayRoutes[request.service]?.value ?? .empty : .empty
        let inbound =
            request.kind == .sidecar
            ? intentions.lazy.map(\.intention).filter { $0.destinationReference == request.service }
                .prefix(ProtocolLimits.intentionsPerSnapshot) : []
        return try DiscoverySnapshot(
            version: version, generatedAt: loadedAt, defaults: defaults.value, upstreams: upstreams,
            inboundIntentions: Array(inbound), gatewayRoutes: routes,
            inboundPolicy: request.kind == .sidecar ? policies[request.service]?.value : nil)
    }

    /// The services a proxy's snapshot covers, in the order it lists them: the
    /// upstreams it asked for, then those their routes (and, for a gateway, its
    /// own route table) send or mirror traffic to.
    func reachedServices(for request: DiscoveryRequest) -> [ServiceReference] {
        var wanted = request.upstreams
        var seen = Set(wanted)
        func reach(_ table: RouteTable) {
            for rule in table.routes {
                var reached = rule.destinations.map(\.reference)
                if let mirror = rule.mirror {
                    reached.append(ServiceReference(service: mirror.service, namespace: mirror.namespace))
                }
                for reference in reached where seen.insert(reference).inserted {
                    wanted.append(reference)
                }
            }
        }
        if request.kind == .gateway, let table = gatewayRoutes[request.service]?.value { reach(table) }
        // A sidecar's upstreams' own routes may shift traffic to (or mirror it
        // at) other services: those are the sidecar's upstreams too.
        for reference in request.upstreams {
            if let table = serviceRoutes[reference]?.value { reach(table) }
        }
        return wanted
    }

    /// What a blocked discovery query waits for a change of: the snapshot it
    /// would get at this state depends on nothing else.
    public func scope(of request: DiscoveryRequest) -> DiscoveryScope {
        DiscoveryScope(
            services: Set(reachedServices(for: request).prefix(ProtocolLimits.upstreamsPerRequest)),
            own: request.service, kind: request.kind)
    }

    func upstream(_ reference: ServiceReference) throws(ProtocolError) -> UpstreamSnapshot {
        let endpoints = (instances[reference] ?? []).lazy.compactMap { Endpoint($0.instance) }
            .prefix(ProtocolLimits.endpointsPerService)
        return try UpstreamSnapshot(
            service: reference, protocol: services[reference]?.value.protocolKind ?? .http,
            endpoints: Array(endpoints),
            policy: policies[reference]?.value
                ?? TrafficPolicy(service: reference.service, namespace: reference.namespace),
            routes: serviceRoutes[reference]?.value ?? .empty)
    }

    /// One instance, if registered.
    public func instance(_ service: ServiceReference, _ id: InstanceID) -> InstanceRecord? {
        instances[service]?.first { $0.instance.id == id }
    }
}

/// The services a discovery snapshot covers (see `RegistryState.scope(of:)`).
public struct DiscoveryScope: Hashable, Sendable {
    /// Upstreams, with everything their routes reach.
    public var services: Set<ServiceReference>
    /// The proxy's own service: its inbound intentions and policy (a sidecar),
    /// or its route table (a gateway).
    public var own: ServiceReference
    public var kind: DiscoveryRequest.Kind
}

/// What changed from the state a replica held before to this one, so a change
/// wakes only the watchers whose snapshot it alters: with a thousand sidecars
/// watching, a new instance of one service answers its few dozen callers, not
/// every proxy in the mesh.
public struct StateChanges: Hashable, Sendable {
    /// Everything may have changed (the first state, or one read whole).
    public var everything: Bool
    /// Services whose upstream snapshot changed: their service row, instances,
    /// policy or route table.
    public var services: Set<ServiceReference> = []
    /// Services whose inbound side changed: an intention towards them, or their policy.
    public var inbound: Set<ServiceReference> = []
    /// Gateways whose route table changed.
    public var gatewayRoutes: Set<ServiceReference> = []
    public var defaults = false

    public static let everything = StateChanges(everything: true)
    public static let nothing = StateChanges(everything: false)

    /// Whether a snapshot of `scope` differs between the state before and this one.
    public func affect(_ scope: DiscoveryScope) -> Bool {
        if everything || defaults { return true }
        if !services.isDisjoint(with: scope.services) { return true }
        switch scope.kind {
        case .sidecar: return inbound.contains(scope.own)
        case .gateway: return gatewayRoutes.contains(scope.own)
        }
    }
}
