public import NIOCore
public import WeftHTTP2

/// HTTP/2 connections to one upstream, on one event loop (pools are per loop, so
/// balancing and dispatch never cross threads: DESIGN.md, Threading).
///
/// A stream goes on a connection that still accepts streams (no GOAWAY from the
/// peer, not closing) and has fewer than `maximumStreamsPerConnection` open;
/// otherwise another connection is dialled, up to `maximumConnections`. Past that,
/// up to `maximumWaiters` requests wait for a stream slot; beyond them the pool
/// fails fast with `.exhausted` (a proxy answers 503) instead of growing memory.
///
/// The pool does not know the transport: `connector` dials and returns a channel
/// whose pipeline holds the transport (TLS, when the mesh needs it) and an
/// `HTTP2ConnectionHandler` in the client role. Use the pool only on its loop.
/// An error a pool's connector fails with when it chose not to dial (a limit):
/// passed to the waiting streams as it is, not as a connect failure.
public protocol ConnectorRefusal: Error {}

public final class HTTP2ConnectionPool {
    public struct Configuration: Sendable {
        public var maximumConnections = 4
        public var maximumStreamsPerConnection = 100
        public var maximumWaiters = 1024
        public init() {}
    }

    public enum Failure: Error, Equatable {
        /// Every connection is full and the waiting line too.
        case exhausted
        /// Dialling the upstream failed.
        case connectFailed(String)
        /// The pool was closed.
        case closed
    }

    private final class Connection {
        let channel: any Channel
        let handler: HTTP2ConnectionHandler
        init(channel: any Channel, handler: HTTP2ConnectionHandler) {
            self.channel = channel
            self.handler = handler
        }
    }

    private struct Waiter {
        let headers: [HTTP2Header]
        let endStream: Bool
        let handler: any HTTP2StreamHandler
        let promise: EventLoopPromise<HTTP2Stream>
        /// Turns the pool's failures into the caller's errors.
        let mapError: ((any Error) -> any Error)?

        func fail(_ error: any Error) {
            promise.fail(mapError.map { $0(error) } ?? error)
        }
    }

    public let eventLoop: any EventLoop
    public let configuration: Configuration
    private let connector: (any EventLoop) -> EventLoopFuture<any Channel>
    private var connections: [Connection] = []
    private var dialling = 0
    private var waiters = CircularBuffer<Waiter>()
    private var closed = false
    /// Connections dialled so far (for tests and metrics).
    public private(set) var connectionsOpened = 0
    /// Called for every connection dialled (the proxy's metrics).
    public var onDial: (() -> Void)?
    public var connectionCount: Int { connections.count }

    public init(
        eventLoop: any EventLoop, configuration: Configuration = Configuration(),
        connector: @escaping (any EventLoop) -> EventLoopFuture<any Channel>
    ) {
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.connector = connector
    }

    /// Opens a stream to the upstream; `handler` receives its events. A failure
    /// is passed through `mapError` first (cheaper than a future chained to
    /// rewrite it, which cost allocations on every request, failing or not).
    public func openStream(
        _ headers: [HTTP2Header], endStream: Bool, handler: any HTTP2StreamHandler,
        mapError: ((any Error) -> any Error)? = nil
    ) -> EventLoopFuture<HTTP2Stream> {
        eventLoop.preconditionInEventLoop()
        let promise = eventLoop.makePromise(of: HTTP2Stream.self)
        let waiter = Waiter(
            headers: headers, endStream: endStream, handler: handler, promise: promise, mapError: mapError)
        guard !closed else {
            waiter.fail(Failure.closed)
            return promise.futureResult
        }
        if !serve(waiter) {
            guard waiters.count < configuration.maximumWaiters else {
                waiter.fail(Failure.exhausted)
                return promise.futureResult
            }
            waiters.append(waiter)
            dialIfUseful()
        }
        return promise.futureResult
    }

    /// Closes every connection; waiting requests fail with `.closed`.
    public func close() {
        eventLoop.preconditionInEventLoop()
        closed = true
        while let waiter = waiters.popFirst() { waiter.fail(Failure.closed) }
        for connection in connections { connection.channel.close(promise: nil) }
    }

    /// Opens the waiter's stream on a connection with room; false if none has room.
    /// Stops taking streams and lets the open ones finish: each connection closes
    /// once its last stream ends (a snapshot dropped the endpoint, or the proxy is
    /// shutting down). Waiting requests fail with `.closed`.
    public func drain() {
        eventLoop.preconditionInEventLoop()
        closed = true
        while let waiter = waiters.popFirst() { waiter.fail(Failure.closed) }
        for connection in connections { connection.handler.beginGracefulShutdown() }
    }

    private func serve(_ waiter: Waiter) -> Bool {
        guard
            let connection = connections.first(where: {
                $0.handler.isAcceptingStreams
                    && $0.handler.openStreamCount < configuration.maximumStreamsPerConnection
            })
        else { return false }
        do {
            let stream = try connection.handler.openStream(
                waiter.headers, endStream: waiter.endStream, handler: waiter.handler)
            waiter.promise.assumeIsolated().succeed(stream)
        } catch {
            waiter.fail(error)
        }
        return true
    }

    private func serveWaiters() {
        // Take the waiter out before serving it: serving can close a stream at once,
        // whose callback re-enters here and must see a consistent line.
        while let waiter = waiters.popFirst() {
            guard serve(waiter) else {
                waiters.prepend(waiter)
                break
            }
        }
        dialIfUseful()
    }

    /// Dials another connection when requests wait and the limit allows.
    private func dialIfUseful() {
        let usable = connections.filter { $0.handler.isAcceptingStreams }.count
        guard !closed, !waiters.isEmpty, usable + dialling < configuration.maximumConnections else { return }
        // One dial per full connection's worth of waiters.
        let wanted =
            (waiters.count + configuration.maximumStreamsPerConnection - 1) / configuration.maximumStreamsPerConnection
        guard dialling < wanted else { return }
        dialling += 1
        connectionsOpened += 1
        onDial?()
        connector(eventLoop).assumeIsolated().whenComplete { result in
            self.dialling -= 1
            switch result {
            case .success(let channel):
                guard let handler = try? channel.pipeline.syncOperations.handler(type: HTTP2ConnectionHandler.self)
                else {
                    channel.close(promise: nil)
                    self.failWaiters(Failure.connectFailed("the connector's channel has no HTTP2ConnectionHandler"))
                    return
                }
                let connection = Connection(channel: channel, handler: handler)
                // A stream's end frees a slot: someone waiting may take it.
                handler.onStreamClosed = { [weak self] in
                    guard let self, !self.waiters.isEmpty else { return }
                    self.serveWaiters()
                }
                self.connections.append(connection)
                channel.closeFuture.assumeIsolated().whenComplete { _ in
                    self.connections.removeAll { $0 === connection }
                    self.serveWaiters()
                }
                if self.closed { channel.close(promise: nil) }
                self.serveWaiters()
            case .failure(let error):
                // Nothing else is dialling: those waiting cannot be served.
                if self.dialling == 0 && self.connections.allSatisfy({ !$0.handler.isAcceptingStreams }) {
                    // A connector that refused to dial says why in its own error.
                    self.failWaiters(error is any ConnectorRefusal ? error : Failure.connectFailed("\(error)"))
                }
            }
        }
    }

    private func failWaiters(_ error: any Error) {
        while let waiter = waiters.popFirst() { waiter.fail(error) }
    }
}

@available(*, unavailable)
extension HTTP2ConnectionPool: Sendable {}
