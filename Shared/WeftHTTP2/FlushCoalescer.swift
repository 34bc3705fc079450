public import NIOCore

/// Flushes a channel once per event-loop turn, however many writes the turn
/// made: a proxy writes a response head, a body chunk and an end because
/// another connection's read delivered them, and each `writeAndFlush` would be
/// a syscall of its own. The flush runs as a task, after the loop has
/// processed this turn's I/O. Use on the channel's event loop only.
public final class FlushCoalescer {
    private var scheduled = false

    public init() {}

    /// Flushes `context`'s channel at the end of this turn (once, however often
    /// this is called before then).
    public func flushSoon(_ context: ChannelHandlerContext) {
        guard !scheduled else { return }
        scheduled = true
        context.eventLoop.assumeIsolated().execute { [self] in
            scheduled = false
            context.flush()
        }
    }
}

@available(*, unavailable)
extension FlushCoalescer: Sendable {}
