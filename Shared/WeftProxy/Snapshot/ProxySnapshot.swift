public import WeftProtocol

/// The configuration a proxy runs on, built once from a `DiscoverySnapshot` and
/// never changed: the upstreams it may call (with the identity each must present
/// and the endpoints that receive traffic), and the intentions guarding its own
/// inbound side. A new configuration is a new snapshot, swapped in whole onto every
/// event loop (`ProxyLoops.apply`); a request keeps the snapshot it started with.
///
/// Everything a request needs is looked up, not computed: names are lowercased
/// and indexed here, identities formatted here, not per request.
public final class ProxySnapshot: Sendable {
    /// One service this proxy may call. A class: every request carries one
    /// through its plan, and a struct of this size cost a retain per field at
    /// every copy.
    public final class Upstream: Sendable {
        public let reference: ServiceReference
        public let protocolKind: ServiceProtocol
        /// The SPIFFE ID every endpoint of the service must present in the mesh
        /// handshake: a peer with any other identity is refused.
        public let identity: String
        public let endpoints: [UpstreamEndpoint]
        /// `name.namespace`, for error messages: formatted once per snapshot, not
        /// per request.
        public let name: String
        /// Whose balancer state picks among `endpoints`: the name, plus the
        /// subset when the endpoints are a route destination's subset.
        public let balancerKey: String
        /// How calls to the service are treated: balancing, retry budget,
        /// breakers, outlier detection, timeouts.
        public let policy: TrafficPolicy
        /// Every endpoint's slot, zone and datacenter in the service's whole
        /// list: what the loop's `EndpointSet` is built from.
        public let allEndpoints: [UpstreamEndpoint]

        init(
            reference: ServiceReference, protocolKind: ServiceProtocol, trustDomain: String,
            endpoints: [UpstreamEndpoint], policy: TrafficPolicy
        ) {
            self.reference = reference
            self.protocolKind = protocolKind
            self.identity = "spiffe://\(trustDomain)/ns/\(reference.namespace)/sa/\(reference.service)"
            self.endpoints = endpoints
            self.allEndpoints = endpoints
            self.name = reference.description
            self.balancerKey = name
            self.policy = policy
        }

        private init(narrowing whole: Upstream, to subset: Labels) {
            reference = whole.reference
            protocolKind = whole.protocolKind
            identity = whole.identity
            endpoints = whole.endpoints.filter { $0.labels.contains(subset) }
            allEndpoints = whole.allEndpoints
            name = "\(whole.name) {\(subset)}"
            balancerKey = name
            policy = whole.policy
        }

        /// The upstream with only the endpoints carrying all of `subset`'s labels.
        func narrowed(to subset: Labels) -> Upstream {
            Upstream(narrowing: self, to: subset)
        }
    }

    /// Where to send one share of an upstream's traffic: its sidecar's mesh port.
    /// A class for the same reason as `Upstream`: one is picked per attempt.
    public final class UpstreamEndpoint: Sendable {
        public let host: String
        public let port: Int
        public let instance: String
        public let weight: Int
        public let zone: String?
        /// The `datacenter` label, for failover across datacenters.
        public let datacenter: String?
        public let labels: Labels
        /// Its index in the service's whole endpoint list (the same in every
        /// label subset): where the loop keeps its record.
        public let slot: Int
        /// `host:port`, for error messages.
        public let key: String
        /// `identity@host:port`, the key of the endpoint's connection pool: a new
        /// identity at the same address is a new pool. Built once per snapshot.
        public let poolKey: String

        init(
            host: String, port: Int, instance: String, weight: Int, zone: String?, datacenter: String?,
            labels: Labels, slot: Int, key: String, poolKey: String
        ) {
            self.host = host
            self.port = port
            self.instance = instance
            self.weight = weight
            self.zone = zone
            self.datacenter = datacenter
            self.labels = labels
            self.slot = slot
            self.key = key
            self.poolKey = poolKey
        }
    }

    public let version: UInt64
    /// The snapshot as received, for the admin port's `/config` (nothing in a
    /// snapshot is secret: certificates, keys and tokens never travel in one).
    public let source: DiscoverySnapshot
    /// When the registry built it (seconds since 1970): how stale the view is.
    public let generatedAt: Int64
    public let defaults: MeshDefaults
    public let upstreams: [ServiceReference: Upstream]
    /// `name`, `name.namespace` and `name.namespace.mesh`, lowercased.
    private let byName: [String: ServiceReference]
    /// Most specific source first, `deny` before `allow` among equals: the first
    /// that applies decides.
    public let inboundIntentions: [Intention]
    /// Each intention's source as text, for verdicts: formatted once here, not
    /// on every request.
    private let intentionRules: [String]
    /// The intentions by source, each list in the order above: a caller's
    /// request looks at the ones naming it, its namespace and `*`, not at every
    /// intention of the service (100 of them cost a walk per request).
    private let exactIntentions: [SPIFFEID: [Int]]
    private let namespaceIntentions: [NamespaceKey: [Int]]
    private let anyIntentions: [Int]

    private struct NamespaceKey: Hashable {
        let trustDomain: String
        let namespace: NamespaceName
    }
    /// A gateway's routes, compiled; empty for a sidecar.
    public let gatewayRoutes: GatewayRoutes
    /// Each upstream's own route table (traffic shifting inside the mesh),
    /// compiled; absent for an upstream without routes.
    public let serviceRoutes: [ServiceReference: GatewayRoutes]
    /// The policy of this proxy's own service (its inbound rate limit), when the
    /// registry sent one.
    public let inboundPolicy: TrafficPolicy?

    /// - Parameter namespace: this proxy's own namespace, where a bare name
    ///   (`cart`) is looked up first.
    public init(_ snapshot: DiscoverySnapshot, namespace: NamespaceName = .default) {
        source = snapshot
        version = snapshot.version
        generatedAt = snapshot.generatedAt.secondsSinceEpoch
        defaults = snapshot.defaults
        var upstreams: [ServiceReference: Upstream] = [:]
        var byName: [String: ServiceReference] = [:]
        var bareNames: [String: [ServiceReference]] = [:]
        for upstream in snapshot.upstreams {
            let reference = upstream.service
            let identity = "spiffe://\(snapshot.defaults.trustDomain)/ns/\(reference.namespace)/sa/\(reference.service)"
            let endpoints = upstream.endpoints.enumerated().map { slot, endpoint in
                let host = endpoint.address.description
                let key = "\(host):\(endpoint.port)"
                return UpstreamEndpoint(
                    host: host, port: Int(endpoint.port), instance: endpoint.instance.description,
                    weight: endpoint.weight, zone: endpoint.zone, datacenter: endpoint.labels["datacenter"],
                    labels: endpoint.labels, slot: slot, key: key, poolKey: identity + "@" + key)
            }
            upstreams[reference] = Upstream(
                reference: reference, protocolKind: upstream.protocolKind, trustDomain: snapshot.defaults.trustDomain,
                endpoints: endpoints, policy: upstream.policy)
            let qualified = "\(reference.service).\(reference.namespace)".lowercased()
            byName[qualified] = reference
            byName[qualified + ".mesh"] = reference
            bareNames[reference.service.rawValue.lowercased(), default: []].append(reference)
        }
        // A bare name means the service in this proxy's namespace, or the only
        // upstream of that name; an ambiguous bare name resolves to nothing.
        for (name, references) in bareNames {
            if let local = references.first(where: { $0.namespace == namespace }) {
                byName[name] = local
            } else if references.count == 1 {
                byName[name] = references[0]
            }
        }
        self.upstreams = upstreams
        self.byName = byName
        self.inboundIntentions = snapshot.inboundIntentions.enumerated().sorted { left, right in
            let (l, r) = (left.element, right.element)
            if l.source.specificity != r.source.specificity { return l.source.specificity > r.source.specificity }
            if l.action != r.action { return l.action == .deny }
            return left.offset < right.offset
        }.map(\.element)
        self.intentionRules = inboundIntentions.map(\.source.description)
        var exact: [SPIFFEID: [Int]] = [:]
        var namespaced: [NamespaceKey: [Int]] = [:]
        var any: [Int] = []
        for (index, intention) in inboundIntentions.enumerated() {
            switch intention.source {
            case .exact(let id): exact[id, default: []].append(index)
            case .namespace(let trustDomain, let namespace):
                namespaced[NamespaceKey(trustDomain: trustDomain, namespace: namespace), default: []].append(index)
            case .any: any.append(index)
            }
        }
        self.exactIntentions = exact
        self.namespaceIntentions = namespaced
        self.anyIntentions = any
        self.gatewayRoutes = GatewayRoutes(
            snapshot.gatewayRoutes, upstreams: upstreams, trustDomain: snapshot.defaults.trustDomain)
        var serviceRoutes: [ServiceReference: GatewayRoutes] = [:]
        for upstream in snapshot.upstreams where !upstream.routes.routes.isEmpty {
            serviceRoutes[upstream.service] = GatewayRoutes(
                upstream.routes, upstreams: upstreams, trustDomain: snapshot.defaults.trustDomain)
        }
        self.serviceRoutes = serviceRoutes
        self.inboundPolicy = snapshot.inboundPolicy
    }

    /// The upstream an authority names (`cart`, `cart.shop`, `cart.shop.mesh`,
    /// with or without `:port`), or nil.
    public func upstream(forAuthority authority: Substring) -> Upstream? {
        var host = authority
        if let colon = host.lastIndex(of: ":"), !host.hasSuffix("]") { host = host[..<colon] }
        guard !host.isEmpty, host.utf8.count <= 253 else { return nil }
        guard let reference = byName[host.lowercased()] else { return nil }
        return upstreams[reference]
    }

    /// The upstream named `name` (as the `--upstream` flag gives it).
    public func upstream(named name: String) -> Upstream? {
        upstream(forAuthority: Substring(name))
    }

    /// What the inbound side does with a call from `caller`: the first intention
    /// that applies decides, else the mesh default.
    public func authorize(
        caller: SPIFFEID, method: Substring, path: Substring, header: (String) -> Substring? = { _ in nil }
    ) -> Verdict {
        // Most specific source first, as the list is sorted: the caller's own
        // intentions, its namespace's, then `*`.
        func first(_ candidates: [Int]?) -> Verdict? {
            for index in candidates ?? []
            where inboundIntentions[index].applies(to: caller, method: method, path: path, header: header) {
                return Verdict(action: inboundIntentions[index].action, rule: intentionRules[index])
            }
            return nil
        }
        if let verdict = first(exactIntentions[caller]) { return verdict }
        let namespace = NamespaceKey(trustDomain: caller.trustDomain, namespace: caller.namespace)
        if let verdict = first(namespaceIntentions[namespace]) { return verdict }
        if let verdict = first(anyIntentions) { return verdict }
        return Verdict(action: defaults.defaultAction, rule: "mesh default")
    }

    public struct Verdict: Sendable, Equatable {
        public let action: IntentionAction
        /// What decided, for the log and the 403's detail.
        public let rule: String
    }
}
