public import NIOCore
public import WeftProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// What one event loop knows of one upstream's endpoints from the traffic it sent
/// them: requests in flight, the peak-EWMA of each one's latency, its recent
/// failures, and whether outlier detection has ejected it. Balancers of the
/// upstream (one per route subset) read it to pick; the forwarder reports every
/// attempt's outcome back. A plain value owned by one loop: nothing is locked.
///
/// **Outlier detection**: `consecutive_errors` failures in a row (502/503/504,
/// connect failures, resets) eject an endpoint for `base_ejection_time` × the
/// number of times it has been ejected (capped at ten times the base), unless
/// `max_ejection_percent` of the endpoints are out already, so detection can
/// never empty a service. An ejected endpoint returns by itself when its time is
/// up; each `interval` it then stays healthy takes one off its ejection count.
public struct EndpointSet {
    /// How an attempt ended, for the endpoint's record.
    public enum Outcome: Sendable, Equatable {
        /// A response came (any status the upstream chose, 5xx included unless
        /// it is a gateway error).
        case success
        /// A gateway error (502/503/504), a connect failure or a reset: counts
        /// toward ejection.
        case failure
        /// The caller went away or the deadline passed: says nothing about the
        /// endpoint.
        case abandoned
    }

    public struct State: Sendable {
        public fileprivate(set) var inFlight = 0
        /// Peak-EWMA latency in nanoseconds; nil until the first response.
        public fileprivate(set) var latency: Double?
        fileprivate var latencyUpdated = NIODeadline.uptimeNanoseconds(0)
        public fileprivate(set) var consecutiveFailures = 0
        public fileprivate(set) var ejectedUntil: NIODeadline?
        public fileprivate(set) var ejections = 0
        fileprivate var lastEjectionEnded = NIODeadline.uptimeNanoseconds(0)
        /// Set for an endpoint that appeared after the first snapshot: it takes
        /// a growing share until then, rather than the flood a cold cache would
        /// get at once.
        public fileprivate(set) var warmUntil: NIODeadline?
        fileprivate var warmStarted = NIODeadline.uptimeNanoseconds(0)
    }

    /// How fast a latency peak fades (Linkerd's default): a slow response counts
    /// fully at once and decays over about ten seconds.
    public static let decay: Double = 10e9
    /// How long a new endpoint takes to reach its full share.
    public static let warmUp = TimeAmount.seconds(10)

    public private(set) var states: [State]
    /// The endpoints' weights and keys (`identity@host:port`), in the upstream's order.
    public let weights: [Int]
    public let keys: [String]
    public let zones: [String?]
    public let datacenters: [String?]
    let outlier: OutlierDetection
    /// The EWMA of every response's latency to this upstream: the estimate for an
    /// endpoint with no measurement of its own yet.
    public private(set) var typicalLatency: Double = 1e6
    /// Endpoints ejected now or until recently (expired lazily).
    private var ejectedCount = 0

    /// - Parameter previous: the set this one replaces (the same upstream under
    ///   the last snapshot): endpoints it knew keep their record; endpoints it
    ///   did not know warm up. Nil for the proxy's first view: nothing warms up.
    public init(
        keys: [String], weights: [Int], zones: [String?], datacenters: [String?], outlier: OutlierDetection,
        previous: EndpointSet?, now: NIODeadline
    ) {
        self.keys = keys
        self.weights = weights
        self.zones = zones
        self.datacenters = datacenters
        self.outlier = outlier
        var states = [State](repeating: State(), count: keys.count)
        if let previous {
            typicalLatency = previous.typicalLatency
            var index: [String: Int] = [:]
            for (slot, key) in previous.keys.enumerated() { index[key] = slot }
            for (slot, key) in keys.enumerated() {
                if let old = index[key] {
                    states[slot] = previous.states[old]
                } else {
                    states[slot].warmUntil = now + Self.warmUp
                    states[slot].warmStarted = now
                }
            }
        }
        self.states = states
        ejectedCount = states.count { $0.ejectedUntil != nil }
    }

    public var count: Int { states.count }

    /// Whether `slot` may take traffic now (not ejected).
    public mutating func isAvailable(_ slot: Int, now: NIODeadline) -> Bool {
        guard let until = states[slot].ejectedUntil else { return true }
        guard now >= until else { return false }
        states[slot].ejectedUntil = nil
        states[slot].lastEjectionEnded = until
        ejectedCount -= 1
        return true
    }

    /// Whether any endpoint may be ejected now: when none is, a pick needs no
    /// availability scan.
    public var mayHaveEjections: Bool { ejectedCount > 0 }

    /// The share of its weight a warming endpoint takes now, from 0.1 to 1.
    public mutating func warmth(_ slot: Int, now: NIODeadline) -> Double {
        guard let until = states[slot].warmUntil else { return 1 }
        guard now < until else {
            states[slot].warmUntil = nil
            return 1
        }
        let elapsed = Double((now - states[slot].warmStarted).nanoseconds)
        return max(0.1, elapsed / Double(Self.warmUp.nanoseconds))
    }

    /// Peak-EWMA cost of sending one more request to `slot`: its latency
    /// estimate times the requests it would then have in flight, per unit of
    /// weight (Finagle's and Linkerd's measure).
    public mutating func cost(_ slot: Int, now: NIODeadline) -> Double {
        let state = states[slot]
        let latency = state.latency ?? typicalLatency
        return latency * Double(state.inFlight + 1) / (Double(weights[slot]) * warmth(slot, now: now))
    }

    // MARK: Attempts

    /// An attempt goes to `slot`.
    public mutating func began(_ slot: Int) {
        states[slot].inFlight += 1
    }

    /// The attempt on `slot` that began `latency` nanoseconds ago ended.
    /// Returns whether this ejected the endpoint.
    @discardableResult
    public mutating func finished(_ slot: Int, latency: Int64, outcome: Outcome, now: NIODeadline) -> Bool {
        guard slot < states.count else { return false }
        states[slot].inFlight = max(0, states[slot].inFlight - 1)
        if outcome != .abandoned { record(slot, latency: Double(max(latency, 0)), now: now) }
        switch outcome {
        case .success:
            states[slot].consecutiveFailures = 0
            forgive(slot, now: now)
        case .failure:
            states[slot].consecutiveFailures += 1
            if states[slot].consecutiveFailures >= outlier.consecutiveErrors { return eject(slot, now: now) }
        case .abandoned:
            break
        }
        return false
    }

    private mutating func record(_ slot: Int, latency: Double, now: NIODeadline) {
        typicalLatency = typicalLatency * 0.9 + latency * 0.1
        guard let previous = states[slot].latency else {
            states[slot].latency = latency
            states[slot].latencyUpdated = now
            return
        }
        if latency > previous {
            // A peak counts fully at once: a slow endpoint loses its share now,
            // not after many slow answers.
            states[slot].latency = latency
        } else {
            let elapsed = Double((now - states[slot].latencyUpdated).nanoseconds)
            let keep = exp(-max(elapsed, 0) / Self.decay)
            states[slot].latency = previous * keep + latency * (1 - keep)
        }
        states[slot].latencyUpdated = now
    }

    /// Ejects `slot` unless that would take more than the allowed share out.
    private mutating func eject(_ slot: Int, now: NIODeadline) -> Bool {
        guard isAvailable(slot, now: now) else { return false }
        if mayHaveEjections {
            for other in states.indices where other != slot { _ = isAvailable(other, now: now) }
        }
        let allowed = states.count * outlier.maximumEjectionPercent / 100
        guard ejectedCount + 1 <= allowed else { return false }
        states[slot].ejections += 1
        let base = outlier.baseEjectionTime.timeAmount
        let time = base * Int64(min(states[slot].ejections, 10))
        states[slot].ejectedUntil = now + time
        states[slot].consecutiveFailures = 0
        ejectedCount += 1
        return true
    }

    /// Each `interval` an endpoint stays healthy after an ejection takes one off
    /// its ejection count, so an old failure stops lengthening new ejections.
    private mutating func forgive(_ slot: Int, now: NIODeadline) {
        guard states[slot].ejections > 0, states[slot].ejectedUntil == nil else { return }
        let interval = outlier.interval.timeAmount
        if now - states[slot].lastEjectionEnded >= interval {
            states[slot].ejections -= 1
            states[slot].lastEjectionEnded = now
        }
    }
}

extension WeftDuration {
    var timeAmount: TimeAmount { .milliseconds(Int64(milliseconds)) }
}
