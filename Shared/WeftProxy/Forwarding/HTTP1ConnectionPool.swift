public import NIOCore
public import NIOHTTP1
import NIOPosix
import WeftHTTP2

/// Keep-alive HTTP/1.1 connections to one local application, on one event loop:
/// the inbound side's client for apps that speak HTTP/1.1.
///
/// A request takes an idle connection or dials one, up to `maximumConnections`;
/// past that up to `maximumWaiters` wait, and beyond them the pool fails at once
/// (`.exhausted`, answered 503) rather than queueing without bound. A connection
/// goes back to the idle set only after a complete exchange that both sides agreed
/// to keep alive; at most `maximumIdle` are kept, each for `idleTimeout`.
public final class HTTP1ConnectionPool {
    public struct Configuration: Sendable {
        public var maximumConnections = 64
        /// As many as may be open: closing the connections a burst opened only to
        /// dial them again at the next burst is churn (it once cost a connection
        /// per thirteen requests under load). Idle ones still close after
        /// `idleTimeout`, and the most recently used is always taken first, so
        /// the surplus of a burst is what times out.
        public var maximumIdle = 64
        public var maximumWaiters = 1024
        public var idleTimeout: TimeAmount = .seconds(60)
        public var connectTimeout: TimeAmount = .seconds(2)
        public init() {}
    }

    public enum Failure: Error, Equatable {
        case exhausted
        case connectFailed(String)
        case closed
    }

    public let eventLoop: any EventLoop
    public let configuration: Configuration
    private let host: String
    private let port: Int
    private var idle: [HTTP1ClientConnection] = []
    private var open = 0
    private var waiters = CircularBuffer<EventLoopPromise<HTTP1ClientConnection>>()
    private var closed = false
    /// Connections dialled so far (tests, metrics).
    public private(set) var connectionsOpened = 0
    /// Called for every connection dialled (the proxy's metrics).
    public var onDial: (() -> Void)?

    public init(host: String, port: Int, eventLoop: any EventLoop, configuration: Configuration = Configuration()) {
        self.host = host
        self.port = port
        self.eventLoop = eventLoop
        self.configuration = configuration
    }

    /// A connection for one exchange; give it back with `release`.
    public func acquire() -> EventLoopFuture<HTTP1ClientConnection> {
        eventLoop.preconditionInEventLoop()
        guard !closed else { return eventLoop.makeFailedFuture(Failure.closed) }
        while let connection = idle.popLast() {
            connection.idleTimer?.cancel()
            connection.idleTimer = nil
            if connection.isUsable {
                let promise = eventLoop.makePromise(of: HTTP1ClientConnection.self)
                promise.assumeIsolated().succeed(connection)
                return promise.futureResult
            }
        }
        if open < configuration.maximumConnections {
            return dial()
        }
        guard waiters.count < configuration.maximumWaiters else {
            return eventLoop.makeFailedFuture(Failure.exhausted)
        }
        let promise = eventLoop.makePromise(of: HTTP1ClientConnection.self)
        waiters.append(promise)
        return promise.futureResult
    }

    /// Returns a connection after its exchange: kept when `reusable`, else closed.
    public func release(_ connection: HTTP1ClientConnection, reusable: Bool) {
        eventLoop.preconditionInEventLoop()
        guard reusable, connection.isUsable, !closed else {
            connection.channel.close(promise: nil)
            return
        }
        if let waiter = waiters.popFirst() {
            waiter.assumeIsolated().succeed(connection)
            return
        }
        guard idle.count < configuration.maximumIdle else {
            connection.channel.close(promise: nil)
            return
        }
        connection.idleTimer = eventLoop.assumeIsolated().scheduleTask(in: configuration.idleTimeout) {
            connection.channel.close(promise: nil)
        }
        idle.append(connection)
    }

    public func close() {
        eventLoop.preconditionInEventLoop()
        closed = true
        while let waiter = waiters.popFirst() { waiter.fail(Failure.closed) }
        for connection in idle { connection.channel.close(promise: nil) }
        idle.removeAll()
    }

    private func dial() -> EventLoopFuture<HTTP1ClientConnection> {
        open += 1
        connectionsOpened += 1
        onDial?()
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.autoRead, value: false)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // No outbound header validation: every field comes from an HTTP/2
                    // stream nghttp2 already validated (RFC 9113 8.2.1 forbids the
                    // CR, LF and NUL that would split an HTTP/1.1 message) or from the
                    // proxy itself; checking again cost 7 % of the inbound side.
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        enableOutboundHeaderValidation: false)
                    try channel.pipeline.syncOperations.addHandler(HTTP1ClientConnection())
                }
            }
            .connect(endpoint: host, port: port)
            .flatMapThrowing { channel in
                try channel.pipeline.syncOperations.handler(type: HTTP1ClientConnection.self)
            }
            .assumeIsolated()
            .map { connection in
                connection.channel.closeFuture.assumeIsolated().whenComplete { _ in
                    self.open -= 1
                    self.idle.removeAll { $0 === connection }
                    self.serveWaiterByDialling()
                }
                return connection
            }
            .flatMapErrorThrowing { error in
                self.open -= 1
                throw Failure.connectFailed("\(error)")
            }
            .nonisolated()
    }

    /// A connection closed: a waiter may now dial.
    private func serveWaiterByDialling() {
        guard !closed, let waiter = waiters.popFirst() else { return }
        dial().assumeIsolated().whenComplete { waiter.assumeIsolated().completeWith($0) }
    }
}

@available(*, unavailable)
extension HTTP1ConnectionPool: Sendable {}

/// One keep-alive HTTP/1.1 client connection. Reads are manual (`autoRead` off):
/// the exchange using it asks for more only when it has passed on what it got, so
/// a slow caller slows the application's response rather than filling memory.
public final class HTTP1ClientConnection: ChannelInboundHandler {
    public typealias InboundIn = HTTPClientResponsePart
    public typealias OutboundOut = HTTPClientRequestPart

    /// What receives the response parts of the current exchange.
    public protocol Receiver: AnyObject {
        func received(_ part: HTTPClientResponsePart)
        func connectionClosed()
    }

    private var context: ChannelHandlerContext?
    private let flusher = FlushCoalescer()
    public weak var receiver: (any Receiver)?
    var idleTimer: Scheduled<Void>?
    private var active = true

    public var channel: any Channel { context!.channel }
    var isUsable: Bool { context != nil && active }

    public func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    public func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receiver?.received(unwrapInboundIn(data))
    }

    public func channelInactive(context: ChannelHandlerContext) {
        active = false
        idleTimer?.cancel()
        let receiver = self.receiver
        self.receiver = nil
        receiver?.connectionClosed()
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A malformed response: nothing on this connection can be trusted.
        context.close(promise: nil)
    }

    public func write(_ part: HTTPClientRequestPart, promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(wrapOutboundOut(part), promise: promise)
        flusher.flushSoon(context)
    }

    public func read() { context?.read() }
}

@available(*, unavailable)
extension HTTP1ClientConnection: Sendable {}
