/// New W3C `traceparent` values, one event loop's worth, from the loop's
/// `FastRandom`: trace ids must be unpredictable enough not to collide, not
/// secret. Used by one event loop only.
public final class TraceIDGenerator {
    private var random: FastRandom

    public init() {
        random = FastRandom()
    }

    func next() -> UInt64 {
        random.next()
    }

    /// A number in `0..<bound` (bound > 0), for random splits: not a secret.
    public func random(below bound: Int) -> Int {
        random.below(bound)
    }

    /// `00-<32 hex trace id>-<16 hex parent id>-01`, ids never all zero.
    public func traceParent() -> String {
        newTrace(sampled: true).header
    }

    /// A new trace, its first span id chosen too; ids never all zero.
    public func newTrace(sampled: Bool) -> TraceContext {
        TraceContext(traceHigh: next(), traceLow: next() | 1, spanID: spanID(), sampled: sampled)
    }

    /// A span id, never zero.
    public func spanID() -> UInt64 {
        next() | 1
    }

    /// A number in `0..<1`, for sampling.
    func unit() -> Double {
        random.unit()
    }
}

@available(*, unavailable)
extension TraceIDGenerator: Sendable {}
