public import NIOCore
import NIOHTTP1
import WeftProtocol

/// What a public edge holds every client to, so that nothing one client sends
/// can hold the gateway's resources from the others: connections in all, the
/// time to send a request's head (slowloris), the idle time of a connection
/// between requests, and the size of a request body.
public struct EdgeLimits: Sendable {
    public var maximumConnections = 10_000
    /// From a request's first byte to its whole head: past it, 408 and close.
    public var headerReadTimeout: TimeAmount = .seconds(10)
    /// A connection with no request in progress: past it, closed.
    public var idleTimeout: TimeAmount = .seconds(60)
    /// Past it, 413 (declared in `content-length`, or counted as it arrives).
    public var maximumRequestBody = 16 << 20
    /// HTTP/2 streams one client connection may have open at once
    /// (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused with REFUSED_STREAM,
    /// which clients retry.
    public var maximumConcurrentStreams: UInt32 = 100

    public init() {}
}

/// When an HTTP/1.1 connection's current wait started and what it waits for: a
/// request (idle) or the rest of a head that began. Shared by the two handlers
/// that watch it, one before the decoder (raw bytes) and one after (parts).
final class HTTP1RequestClock {
    let limits: EdgeLimits
    let errors: ProxyErrorResponse
    var awaitingHead = true
    var headBegun = false
    var timer: Scheduled<Void>?
    weak var deadline: HTTP1RequestDeadline?

    init(limits: EdgeLimits, errors: ProxyErrorResponse) {
        self.limits = limits
        self.errors = errors
    }
}

@available(*, unavailable)
extension HTTP1RequestClock: Sendable {}

/// Before the HTTP/1.1 decoder: the first byte of a new request starts its
/// header-read deadline.
final class HTTP1FirstByteWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let clock: HTTP1RequestClock

    init(clock: HTTP1RequestClock) {
        self.clock = clock
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if clock.awaitingHead && !clock.headBegun {
            clock.headBegun = true
            clock.deadline?.arm(clock.limits.headerReadTimeout)
        }
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension HTTP1FirstByteWatcher: Sendable {}

/// After the HTTP/1.1 decoder: a head that does not arrive whole in time is
/// answered 408 and the connection closed; a connection idle between requests
/// past the idle timeout is closed.
final class HTTP1RequestDeadline: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let clock: HTTP1RequestClock
    private var context: ChannelHandlerContext?

    init(clock: HTTP1RequestClock) {
        self.clock = clock
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        clock.deadline = self
        arm(clock.limits.idleTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        clock.timer?.cancel()
        clock.timer = nil
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        clock.timer?.cancel()
        clock.timer = nil
        context.fireChannelInactive()
    }

    func arm(_ after: TimeAmount) {
        guard let context else { return }
        clock.timer?.cancel()
        clock.timer = context.eventLoop.assumeIsolated().scheduleTask(in: after) { [self] in expired() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            // The head is whole: no deadline while the request and its response run.
            clock.awaitingHead = false
            clock.headBegun = false
            clock.timer?.cancel()
            clock.timer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            clock.awaitingHead = true
            clock.headBegun = false
            arm(clock.limits.idleTimeout)
        }
        context.write(data, promise: promise)
    }

    private func expired() {
        clock.timer = nil
        guard let context, clock.awaitingHead else { return }
        guard clock.headBegun else {
            // Idle between requests: nothing to answer.
            context.close(promise: nil)
            return
        }
        let seconds = clock.limits.headerReadTimeout.nanoseconds / 1_000_000_000
        let error = ProxyError.headerTimeout("the request head did not arrive whole within \(seconds) s")
        let (head, body) = clock.errors.http1(error, version: .http1_1, close: true)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension HTTP1RequestDeadline: Sendable {}
