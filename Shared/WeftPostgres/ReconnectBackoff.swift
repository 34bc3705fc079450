/// The wait before the next connect attempt after `failures` failures in a row:
/// doubling from `initial`, capped at `maximum`. Shared by the pool and the
/// listener so both treat an outage alike.
public struct ReconnectBackoff: Sendable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    public func delay(afterFailures failures: Int) -> Duration {
        min(initial * (1 << min(max(failures - 1, 0), 16)), maximum)
    }
}

extension Duration {
    /// Whole milliseconds, for messages and poll timeouts.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
