import Synchronization

/// Token buckets per key (a client address): each key may spend `rate` per
/// second on average and `burst` at once. The table is bounded: when it holds
/// `maximumKeys`, full buckets (keys that have been quiet) are dropped first,
/// and if that is not enough, all of them, so a flood of distinct addresses
/// costs bounded memory and at worst briefly forgets who was limited.
final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let rate: Double
    let burst: Double
    let maximumKeys: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    init(rate: Double, burst: Double, maximumKeys: Int = 100_000) {
        self.rate = rate
        self.burst = burst
        self.maximumKeys = maximumKeys
    }

    /// Takes one token for `key`; nil when allowed, else the seconds until a
    /// token is available.
    func take(_ key: String, now: ContinuousClock.Instant = .now) -> Double? {
        buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + seconds * rate)
            bucket.updated = now
            guard bucket.tokens >= 1 else {
                buckets[key] = bucket
                return (1 - bucket.tokens) / rate
            }
            bucket.tokens -= 1
            if buckets[key] == nil && buckets.count >= maximumKeys {
                buckets = buckets.filter { $0.value.tokens + 1 < burst }
                if buckets.count >= maximumKeys { buckets.removeAll() }
            }
            buckets[key] = bucket
            return nil
        }
    }
}
