import NIOConcurrencyHelpers
public import NIOCore
public import WeftProtocol

/// A token bucket: `burst` tokens, refilled at `requests_per_second`.
public struct TokenBucket: Sendable {
    public let rate: Double
    public let capacity: Double
    private var tokens: Double
    private var updated: NIODeadline

    /// - Parameter share: the share of the limit this bucket holds.
    public init(_ limit: RateLimit, share: Double = 1, now: NIODeadline) {
        rate = limit.requestsPerSecond * share
        capacity = max(1, Double(limit.burst) * share)
        tokens = capacity
        updated = now
    }

    /// Takes a token, or returns the whole seconds until one is there.
    public mutating func take(now: NIODeadline) -> Int? {
        let elapsed = Double(max(0, (now - updated).nanoseconds)) / 1e9
        tokens = min(capacity, tokens + elapsed * rate)
        updated = now
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        return max(1, Int(((1 - tokens) / rate).rounded(.up)))
    }
}

/// Token buckets per key (a caller identity, a header's value), bounded: at
/// `maximumKeys` the less recently used half of the buckets is dropped at once
/// (so a flood of new keys costs O(log n) per key, not a scan each), and a key
/// that returns starts full, which errs on the side of admitting.
public struct KeyedTokenBuckets: Sendable {
    public let limit: RateLimit
    let share: Double
    public let maximumKeys: Int
    private var buckets: [String: (bucket: TokenBucket, used: UInt64)] = [:]
    private var clock: UInt64 = 0

    public init(_ limit: RateLimit, share: Double = 1, maximumKeys: Int = 10_000) {
        self.limit = limit
        self.share = share
        self.maximumKeys = maximumKeys
    }

    public var count: Int { buckets.count }

    /// Takes a token from `key`'s bucket, or returns the seconds to wait.
    public mutating func take(_ key: String, now: NIODeadline) -> Int? {
        clock += 1
        if buckets[key] == nil {
            if buckets.count >= maximumKeys {
                let cutoff = buckets.values.map(\.used).sorted()[buckets.count / 2]
                buckets = buckets.filter { $0.value.used >= cutoff }
            }
            buckets[key] = (TokenBucket(limit, share: share, now: now), clock)
        }
        buckets[key]!.used = clock
        return buckets[key]!.bucket.take(now: now)
    }
}

/// A proxy's rate limits, shared by its event loops: a caller's connection lives
/// on one loop, and splitting a limit across loops would give it a fraction of
/// what it is owed. Each limit (the inbound side, a route) is one set of keyed
/// buckets behind a lock, taken once per request that a limit applies to; a
/// limit whose settings change starts afresh.
public final class RateLimiters: Sendable {
    private let limits = NIOLockedValueBox<[String: KeyedTokenBuckets]>([:])

    public init() {}

    /// Takes a token from `key`'s bucket of limit `name`, or returns the whole
    /// seconds until one is there.
    public func take(_ name: String, limit: RateLimit, key: String, now: NIODeadline = .now()) -> Int? {
        limits.withLockedValue { limits in
            if limits[name]?.limit != limit { limits[name] = KeyedTokenBuckets(limit) }
            return limits[name]!.take(key, now: now)
        }
    }
}
