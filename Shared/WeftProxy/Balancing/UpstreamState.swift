public import NIOCore
public import WeftProtocol

/// One upstream service as one event loop sees it: the record of its endpoints
/// (`EndpointSet`), a balancer per route subset, its circuit breakers and its
/// retry budget. It outlives snapshots: a new snapshot updates it (endpoints
/// that stay keep their record, new ones warm up), so an ejection or a latency
/// estimate is not forgotten at every change of the catalog.
public final class UpstreamState {
    public let reference: ServiceReference
    public private(set) var endpoints: EndpointSet
    /// Bumped when the endpoint list is rebuilt: an attempt started under an
    /// older generation finds its endpoint again by key.
    public private(set) var generation = 0
    private var balancers: [String: Balancer] = [:]
    public var breaker: CircuitBreaker
    public var budget: RetryBudgetState
    public private(set) var policy: TrafficPolicy
    private let zone: String?
    private let datacenter: String?

    init(_ upstream: ProxySnapshot.Upstream, zone: String?, datacenter: String?, now: NIODeadline) {
        reference = upstream.reference
        policy = upstream.policy
        self.zone = zone
        self.datacenter = datacenter
        endpoints = Self.set(upstream, previous: nil, now: now)
        breaker = CircuitBreaker(upstream.policy.circuitBreaker)
        budget = RetryBudgetState(upstream.policy.retryBudget)
    }

    private static func set(_ upstream: ProxySnapshot.Upstream, previous: EndpointSet?, now: NIODeadline)
        -> EndpointSet
    {
        let all = upstream.allEndpoints
        return EndpointSet(
            keys: all.map(\.poolKey), weights: all.map(\.weight), zones: all.map(\.zone),
            datacenters: all.map(\.datacenter), outlier: upstream.policy.outlierDetection, previous: previous,
            now: now)
    }

    /// The upstream under a new snapshot.
    func update(_ upstream: ProxySnapshot.Upstream, now: NIODeadline) {
        let sameEndpoints =
            upstream.allEndpoints.map(\.poolKey) == endpoints.keys
            && upstream.allEndpoints.map(\.weight) == endpoints.weights
            && upstream.policy.outlierDetection == policy.outlierDetection
        if !sameEndpoints {
            endpoints = Self.set(upstream, previous: endpoints, now: now)
            generation += 1
            balancers.removeAll()
        }
        if upstream.policy.loadBalancer != policy.loadBalancer { balancers.removeAll() }
        if upstream.policy.circuitBreaker != policy.circuitBreaker {
            breaker = breaker.with(limits: upstream.policy.circuitBreaker)
        }
        if upstream.policy.retryBudget != policy.retryBudget { budget = RetryBudgetState(upstream.policy.retryBudget) }
        policy = upstream.policy
    }

    /// The slot of the endpoint the next attempt to `upstream` (this service or
    /// one label subset of it) goes to.
    public func pick(
        _ upstream: ProxySnapshot.Upstream, hashKey: UInt64?, avoiding: Int?, now: NIODeadline,
        random: inout FastRandom
    ) -> Int? {
        guard !upstream.endpoints.isEmpty else { return nil }
        if balancers[upstream.balancerKey] == nil {
            balancers[upstream.balancerKey] = Balancer(
                policy: policy.loadBalancer, slots: upstream.endpoints.map(\.slot), in: endpoints, zone: zone,
                datacenter: datacenter)
        }
        return balancers[upstream.balancerKey]!.pick(
            in: &endpoints, now: now, random: &random, hashKey: hashKey, avoiding: avoiding)
    }

    /// An attempt to `slot` began.
    public func began(_ slot: Int) {
        endpoints.began(slot)
    }

    /// The attempt that began on `slot` under `generation` ended; returns
    /// whether outlier detection ejected the endpoint.
    @discardableResult
    public func finished(
        _ slot: Int, generation: Int, key: String, latency: Int64, outcome: EndpointSet.Outcome, now: NIODeadline
    ) -> Bool {
        var current = slot
        if generation != self.generation {
            guard let moved = endpoints.keys.firstIndex(of: key) else { return false }
            current = moved
        }
        return endpoints.finished(current, latency: latency, outcome: outcome, now: now)
    }
}

@available(*, unavailable)
extension UpstreamState: Sendable {}
