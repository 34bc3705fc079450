public import NIOCore
public import WeftProtocol

/// Picks the endpoint for each attempt to one upstream (or one label subset of
/// it), per event loop, from the record in its `EndpointSet`.
///
/// **Locality first**: the endpoints are grouped into levels, those in the
/// caller's zone, then the rest of its datacenter, then other datacenters
/// (Envoy's priority levels). A level takes all traffic while enough of it is
/// available: with `a` the available share of its endpoints, it takes
/// `min(1, 1.4 × a)` (Envoy's overprovisioning factor), and the rest spills to
/// the next level; so losing a few endpoints in a zone costs nothing, losing most
/// of them moves their traffic to the next zone, and it comes back as they do.
///
/// **Then the policy** among the level's available endpoints:
/// - `peak_ewma` (default): power of two choices by peak-EWMA cost (latency ×
///   requests in flight ÷ weight), so a slow endpoint loses its share at once;
/// - `least_request`: power of N choices by requests in flight ÷ weight;
/// - `round_robin`: smooth weighted round robin (nginx's);
/// - `random`: weighted random;
/// - `ring_hash`: consistent hashing of a header or cookie, so a key keeps its
///   endpoint while the set changes around it; locality does not apply (the key
///   decides), an ejected endpoint's keys move to the next on the ring.
///
/// A new endpoint warms up (`EndpointSet.warmth`) under every policy but random
/// and ring hash. `avoiding` keeps a retry off the endpoint that just failed
/// when another one is available.
public struct Balancer {
    public let policy: LoadBalancerPolicy
    /// The set's slots this balancer picks among.
    public let slots: [Int]
    /// Indices into `slots`, per locality level; empty levels dropped.
    private let levels: [[Int]]
    private var smooth: [Double]
    /// Sorted (hash, index into `slots`); ring hash only.
    private let ring: [(hash: UInt64, member: Int)]

    /// Overprovisioning: a level with 72 % of its endpoints available still
    /// takes all its traffic.
    static let overprovisioning = 1.4
    /// Ring entries in all, at most (about 1 MB per loop).
    static let ringBudget = 65_536

    /// - Parameters:
    ///   - zone, datacenter: the caller's; nil puts every endpoint on one level.
    public init(
        policy: LoadBalancerPolicy, slots: [Int], in set: EndpointSet, zone: String?, datacenter: String?
    ) {
        self.policy = policy
        self.slots = slots
        var levels: [[Int]] = [[], [], []]
        for (member, slot) in slots.enumerated() {
            let level: Int
            if zone != nil && set.zones[slot] == zone {
                level = 0
            } else if datacenter == nil || set.datacenters[slot] == nil || set.datacenters[slot] == datacenter {
                level = 1
            } else {
                level = 2
            }
            levels[level].append(member)
        }
        self.levels = levels.filter { !$0.isEmpty }
        self.smooth = Array(repeating: 0, count: slots.count)
        if case .ringHash = policy {
            let totalWeight = slots.reduce(0) { $0 + set.weights[$1] }
            let perWeight = max(1, min(100, Self.ringBudget / max(totalWeight, 1)))
            var ring: [(hash: UInt64, member: Int)] = []
            ring.reserveCapacity(totalWeight * perWeight)
            for (member, slot) in slots.enumerated() {
                for replica in 0..<(set.weights[slot] * perWeight) {
                    ring.append((Self.hash(set.keys[slot] + "#" + String(replica)), member))
                }
            }
            ring.sort { $0.hash < $1.hash }
            self.ring = ring
        } else {
            self.ring = []
        }
    }

    /// What a ring-hash balancer hashes a key with (FNV-1a, 64 bits, finished
    /// with a mixer so that nearby keys land far apart on the ring).
    public static func hash(_ text: some StringProtocol) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        return hash
    }

    /// The slot for the next attempt, or nil when no endpoint is available.
    /// - Parameters:
    ///   - hashKey: the ring-hash key's hash (nil: pick at random).
    ///   - avoiding: a slot to pass over when another is available (a retry's
    ///     failed endpoint).
    public mutating func pick(
        in set: inout EndpointSet, now: NIODeadline, random: inout FastRandom, hashKey: UInt64? = nil,
        avoiding: Int? = nil
    ) -> Int? {
        guard !slots.isEmpty else { return nil }
        if case .ringHash = policy {
            return ringPick(in: &set, now: now, random: &random, hashKey: hashKey, avoiding: avoiding)
        }
        guard let level = chooseLevel(in: &set, now: now, random: &random) else { return nil }
        let members = levels[level]
        if members.count == 1 { return slots[members[0]] }
        switch policy {
        case .peakEWMA:
            return choices(2, members, in: &set, now: now, random: &random, avoiding: avoiding) {
                $0.cost($1, now: now)
            }
        case .leastRequest(let count):
            return choices(count, members, in: &set, now: now, random: &random, avoiding: avoiding) { set, slot in
                Double(set.states[slot].inFlight + 1) / (Double(set.weights[slot]) * set.warmth(slot, now: now))
            }
        case .roundRobin:
            return roundRobin(members, in: &set, now: now, avoiding: avoiding)
        case .random:
            return weightedRandom(members, in: &set, now: now, random: &random, avoiding: avoiding)
        case .ringHash:
            return nil
        }
    }

    /// The locality level this attempt draws from: the first takes
    /// `min(1, 1.4 × its available share)`, the rest spills over in order.
    private func chooseLevel(in set: inout EndpointSet, now: NIODeadline, random: inout FastRandom) -> Int? {
        guard set.mayHaveEjections else { return levels.isEmpty ? nil : 0 }
        var remaining = 1.0
        let roll = random.unit()
        var cumulative = 0.0
        var lastAvailable: Int?
        for (index, members) in levels.enumerated() {
            let available = members.count { set.isAvailable(slots[$0], now: now) }
            guard available > 0 else { continue }
            lastAvailable = index
            let share = min(1, Self.overprovisioning * Double(available) / Double(members.count)) * remaining
            cumulative += share
            remaining -= share
            if roll < cumulative { return index }
        }
        return lastAvailable
    }

    /// Power of `count` choices: the cheapest of `count` distinct random
    /// available members.
    private func choices(
        _ count: Int, _ members: [Int], in set: inout EndpointSet, now: NIODeadline, random: inout FastRandom,
        avoiding: Int?, cost: (inout EndpointSet, Int) -> Double
    ) -> Int? {
        var best: Int?
        var bestCost = Double.infinity
        var tried = 0
        var drawn = 0
        // A few extra draws pass over ejected or avoided members; a level with
        // none left falls back to a scan.
        while tried < count && drawn < count * 4 {
            drawn += 1
            let slot = slots[members[random.below(members.count)]]
            if slot == best || slot == avoiding || !set.isAvailable(slot, now: now) { continue }
            tried += 1
            let candidate = cost(&set, slot)
            if candidate < bestCost {
                best = slot
                bestCost = candidate
            }
        }
        if let best { return best }
        return scan(members, in: &set, now: now, avoiding: avoiding)
    }

    /// Smooth weighted round robin over the available members: each gains its
    /// effective weight per pick and the leader pays the total.
    private mutating func roundRobin(_ members: [Int], in set: inout EndpointSet, now: NIODeadline, avoiding: Int?)
        -> Int?
    {
        var best: Int?
        var total = 0.0
        for member in members {
            let slot = slots[member]
            guard slot != avoiding || members.count == 1, set.isAvailable(slot, now: now) else { continue }
            let weight = Double(set.weights[slot]) * set.warmth(slot, now: now)
            smooth[member] += weight
            total += weight
            if best == nil || smooth[member] > smooth[best!] { best = member }
        }
        guard let best else { return scan(members, in: &set, now: now, avoiding: nil) }
        smooth[best] -= total
        return slots[best]
    }

    private func weightedRandom(
        _ members: [Int], in set: inout EndpointSet, now: NIODeadline, random: inout FastRandom, avoiding: Int?
    ) -> Int? {
        var total = 0
        for member in members where slots[member] != avoiding && set.isAvailable(slots[member], now: now) {
            total += set.weights[slots[member]]
        }
        guard total > 0 else { return scan(members, in: &set, now: now, avoiding: nil) }
        var roll = random.below(total)
        for member in members where slots[member] != avoiding && set.isAvailable(slots[member], now: now) {
            roll -= set.weights[slots[member]]
            if roll < 0 { return slots[member] }
        }
        return nil
    }

    private func ringPick(
        in set: inout EndpointSet, now: NIODeadline, random: inout FastRandom, hashKey: UInt64?, avoiding: Int?
    ) -> Int? {
        guard !ring.isEmpty else { return nil }
        let key = hashKey ?? random.next()
        // The first entry at or after the key, wrapping around.
        var low = 0
        var high = ring.count
        while low < high {
            let middle = (low + high) / 2
            if ring[middle].hash < key { low = middle + 1 } else { high = middle }
        }
        var fallback: Int?
        for step in 0..<ring.count {
            let slot = slots[ring[(low + step) % ring.count].member]
            guard set.isAvailable(slot, now: now) else { continue }
            if slot == avoiding {
                fallback = slot
                continue
            }
            return slot
        }
        return fallback
    }

    /// Any available member, the avoided one last: the slow path when random
    /// draws found none.
    private func scan(_ members: [Int], in set: inout EndpointSet, now: NIODeadline, avoiding: Int?) -> Int? {
        var fallback: Int?
        for member in members where set.isAvailable(slots[member], now: now) {
            if slots[member] == avoiding {
                fallback = slots[member]
                continue
            }
            return slots[member]
        }
        return fallback
    }
}
