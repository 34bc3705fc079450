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
    /// One service this proxy may call.
    public struct Upstream: Sendable {
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

        init(
            reference: ServiceReference, protocolKind: ServiceProtocol, trustDomain: String,
            endpoints: [UpstreamEndpoint]
        ) {
            self.reference = reference
            self.protocolKind = protocolKind
            self.identity = "spiffe://\(trustDomain)/ns/\(reference.namespace)/sa/\(reference.service)"
            self.endpoints = endpoints
            self.name = reference.description
            self.balancerKey = name
        }

        private init(_ whole: Upstream, subset: Labels) {
            reference = whole.reference
            protocolKind = whole.protocolKind
            identity = whole.identity
            endpoints = whole.endpoints.filter { $0.labels.contains(subset) }
            name = "\(whole.name) {\(subset)}"
            balancerKey = name
        }

        /// The upstream with only the endpoints carrying all of `subset`'s labels.
        func narrowed(to subset: Labels) -> Upstream {
            Upstream(self, subset: subset)
        }
    }

    /// Where to send one share of an upstream's traffic: its sidecar's mesh port.
    public struct UpstreamEndpoint: Sendable, Hashable {
        public let host: String
        public let port: Int
        public let instance: String
        public let weight: Int
        public let zone: String?
        public let labels: Labels
        /// `host:port`, for error messages.
        public let key: String
        /// `identity@host:port`, the key of the endpoint's connection pool: a new
        /// identity at the same address is a new pool. Built once per snapshot.
        public let poolKey: String
    }

    public let version: UInt64
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
    /// A gateway's routes, compiled; empty for a sidecar.
    public let gatewayRoutes: GatewayRoutes

    /// - Parameter namespace: this proxy's own namespace, where a bare name
    ///   (`cart`) is looked up first.
    public init(_ snapshot: DiscoverySnapshot, namespace: NamespaceName = .default) {
        version = snapshot.version
        generatedAt = snapshot.generatedAt.secondsSinceEpoch
        defaults = snapshot.defaults
        var upstreams: [ServiceReference: Upstream] = [:]
        var byName: [String: ServiceReference] = [:]
        var bareNames: [String: [ServiceReference]] = [:]
        for upstream in snapshot.upstreams {
            let reference = upstream.service
            let identity = "spiffe://\(snapshot.defaults.trustDomain)/ns/\(reference.namespace)/sa/\(reference.service)"
            let endpoints = upstream.endpoints.map { endpoint in
                let host = endpoint.address.description
                let key = "\(host):\(endpoint.port)"
                return UpstreamEndpoint(
                    host: host, port: Int(endpoint.port), instance: endpoint.instance.description,
                    weight: endpoint.weight, zone: endpoint.zone, labels: endpoint.labels, key: key,
                    poolKey: identity + "@" + key)
            }
            upstreams[reference] = Upstream(
                reference: reference, protocolKind: upstream.protocolKind, trustDomain: snapshot.defaults.trustDomain,
                endpoints: endpoints)
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
        self.gatewayRoutes = GatewayRoutes(
            snapshot.gatewayRoutes, upstreams: upstreams, trustDomain: snapshot.defaults.trustDomain)
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
    public func authorize(caller: SPIFFEID, method: Substring, path: Substring) -> Verdict {
        for (index, intention) in inboundIntentions.enumerated()
        where intention.applies(to: caller, method: method, path: path) {
            return Verdict(action: intention.action, rule: intentionRules[index])
        }
        return Verdict(action: defaults.defaultAction, rule: "mesh default")
    }

    public struct Verdict: Sendable, Equatable {
        public let action: IntentionAction
        /// What decided, for the log and the 403's detail.
        public let rule: String
    }
}
