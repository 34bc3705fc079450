public import NIOCore
public import NIOEmbedded
public import Testing

/// Ends a test of a handler on an EmbeddedChannel: whatever the handler wrote and
/// the test did not read, or a read nobody consumed, fails the test, rather than
/// being swallowed by `try? finish()`. Pending tasks run first (handlers that
/// write at the end of an event-loop turn). An open channel is closed, and may
/// write `closingWrites` buffers doing so (a TLS close_notify), no more.
public func finishClean(
    _ channel: EmbeddedChannel, closingWrites: Int = 0, sourceLocation: SourceLocation = #_sourceLocation
) {
    channel.embeddedEventLoop.run()
    if channel.isActive {
        channel.close(promise: nil)
        var written = 0
        while (try? channel.readOutbound(as: ByteBuffer.self)) != nil { written += 1 }
        #expect(
            written <= closingWrites, "closing wrote \(written) buffers; \(closingWrites) expected at most",
            sourceLocation: sourceLocation)
    }
    do {
        if case .leftOvers(let inbound, let outbound, let pending) = try channel.finish(acceptAlreadyClosed: true) {
            #expect(
                inbound.isEmpty && outbound.isEmpty && pending.isEmpty,
                "left over: \(inbound.count) inbound, \(outbound.count) outbound, \(pending.count) pending",
                sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("finish: \(error)", sourceLocation: sourceLocation)
    }
}
