/// Picks the endpoint for each request to an upstream, per event loop (so no two
/// threads share a cursor). Smooth weighted round robin (nginx's): each endpoint
/// gains its weight per pick and the leader pays the total, so an endpoint of
/// weight 3 gets three picks in every six next to one of weight 1, 2 and spread
/// out, not in bursts. Latency-aware balancing replaces it in the traffic-policy
/// work; the interface stays.
public struct EndpointPicker {
    private var current: [Int]
    private let weights: [Int]
    private let total: Int

    public init(weights: [Int]) {
        self.weights = weights
        self.current = Array(repeating: 0, count: weights.count)
        self.total = weights.reduce(0, +)
    }

    /// The index of the next endpoint, or nil when there is none.
    public mutating func next() -> Int? {
        guard !weights.isEmpty else { return nil }
        if weights.count == 1 { return 0 }
        var best = 0
        for index in weights.indices {
            current[index] += weights[index]
            if current[index] > current[best] { best = index }
        }
        current[best] -= total
        return best
    }
}
