/// The wait before the next connect attempt after `failures` failures in a row:
/// doubling from `initial`, capped at `maximum`. Shared by the pool and the
/// listener so both treat an outage alike.
struct ReconnectBackoff: Sendable {
    var initial: Duration
    var maximum: Duration

    func delay(afterFailures failures: Int) -> Duration {
        min(initial * (1 << min(max(failures - 1, 0), 16)), maximum)
    }
}

extension Duration {
    /// Whole milliseconds, for messages and poll timeouts.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
