public import NIOCore
import Synchronization

/// A server's open connections, so that a shutdown can drain them: every
/// connection is told to quiesce (NIO's `ChannelShouldQuiesceEvent`: HTTP/2 sends
/// GOAWAY and finishes its in-flight streams, HTTP/1.1 closes after the response
/// in progress), and whatever is still open at the deadline is closed.
///
/// Call `track` from the server's child channel initializer; call `drain` after
/// the listening channel is closed.
public final class ConnectionDrainer: Sendable {
    private let open = Mutex<[ObjectIdentifier: any Channel]>([:])

    public init() {}

    /// Connections currently open.
    public var count: Int { open.withLock { $0.count } }

    /// Remembers `channel` until it closes.
    public func track(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        open.withLock { $0[key] = channel }
        channel.closeFuture.whenComplete { [self] _ in
            _ = open.withLock { $0.removeValue(forKey: key) }
        }
    }

    /// Asks every open connection to finish and close; closes the rest after
    /// `deadline`. The future completes once every connection is closed.
    public func drain(deadline: TimeAmount, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let channels = open.withLock { Array($0.values) }
        guard !channels.isEmpty else { return eventLoop.makeSucceededVoidFuture() }
        for channel in channels {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        let forced = eventLoop.scheduleTask(in: deadline) {
            for channel in channels { channel.close(promise: nil) }
        }
        let closed = channels.map { $0.closeFuture }
        return EventLoopFuture.whenAllComplete(closed, on: eventLoop).map { _ in forced.cancel() }
    }
}
