public import NIOCore

/// One HTTP/2 connection as a NIO channel handler, server or client: bytes from
/// the channel go into the `NGHTTP2Session`, its events go to one
/// `HTTP2StreamHandler` per stream, and whatever nghttp2 wants to send is written
/// back. A server makes a stream handler (with the factory) when a stream's first
/// headers arrive; a client opens streams with `openStream`.
///
/// Everything happens on the channel's event loop (no tasks, actors or locks per
/// request). Output produced while processing a read is written once, at the end of
/// that read; output produced by an application write is written at once.
///
/// A peer that breaks the protocol gets the GOAWAY nghttp2 queued, an error is
/// fired down the pipeline, and the connection closes. Nothing else is disturbed.
/// A GOAWAY from the peer is announced as `HTTP2ConnectionEvent.goAway` so that a
/// connection pool can stop using this connection; streams the peer never
/// processed close with REFUSED_STREAM and are safe to retry elsewhere.
public final class HTTP2ConnectionHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private let session: NGHTTP2Session
    private let makeStreamHandler: ((HTTP2Stream) -> any HTTP2StreamHandler)?
    private var streams: [Int32: (stream: HTTP2Stream, handler: any HTTP2StreamHandler)] = [:]
    private var context: ChannelHandlerContext?
    /// Streams, GOAWAY, shutdown, keepalive and output timing: the rules live in
    /// `HTTP2ConnectionLifecycle`; this handler performs what it answers.
    private var lifecycle: HTTP2ConnectionLifecycle
    /// Set when the peer sent GOAWAY: no new streams on this connection.
    public var peerWentAway: Bool { lifecycle.peerHasGoneAway }
    private let configuration: HTTP2Configuration
    private var idleTask: Scheduled<Void>?
    private var keepaliveTask: Scheduled<Void>?
    private var pingTimeoutTask: Scheduled<Void>?
    private var shutdownDeadlineTask: Scheduled<Void>?
    /// Set once a graceful shutdown has begun: the connection closes when the last
    /// stream ends (or at the deadline).
    public var isShuttingDown: Bool { lifecycle.isShuttingDown }
    private static let keepalivePayload: UInt64 = 0x5745_4654_5045_4E47  // "WEFTPENG"

    /// A server connection: `streamHandlerFactory` makes the handler of each
    /// stream the client opens.
    public init(
        configuration: HTTP2Configuration = HTTP2Configuration(),
        streamHandlerFactory: @escaping (HTTP2Stream) -> any HTTP2StreamHandler
    ) throws(HTTP2Error) {
        self.session = try NGHTTP2Session(role: .server, configuration: configuration)
        self.makeStreamHandler = streamHandlerFactory
        self.configuration = configuration
        self.lifecycle = HTTP2ConnectionLifecycle(isServer: true, hasIdleTimeout: configuration.idleTimeout != nil)
    }

    /// A client connection: streams are opened with `openStream`.
    public init(clientConfiguration configuration: HTTP2Configuration = HTTP2Configuration()) throws(HTTP2Error) {
        self.session = try NGHTTP2Session(role: .client, configuration: configuration)
        self.makeStreamHandler = nil
        self.configuration = configuration
        self.lifecycle = HTTP2ConnectionLifecycle(isServer: false, hasIdleTimeout: configuration.idleTimeout != nil)
    }

    /// Streams open on this connection now.
    public var openStreamCount: Int { streams.count }

    /// Called each time a stream has ended and its handler has heard: how a
    /// connection pool learns a slot is free without wrapping every stream's
    /// handler.
    public var onStreamClosed: (() -> Void)?

    /// Whether new streams may be opened (client): false after the peer's GOAWAY
    /// or once the channel is gone.
    public var isAcceptingStreams: Bool { context != nil && lifecycle.refusalReason == nil && session.isAlive }

    /// Opens a stream with request `headers` (client), handled by `handler`. Call
    /// on the channel's event loop.
    public func openStream(_ headers: [HTTP2Header], endStream: Bool, handler: any HTTP2StreamHandler)
        throws(HTTP2Error) -> HTTP2Stream
    {
        guard let context, makeStreamHandler == nil else {
            throw HTTP2Error(
                .internalFailure, code: -501, reason: "streams are opened by clients on an active connection")
        }
        context.eventLoop.preconditionInEventLoop()
        if let reason = lifecycle.refusalReason { throw HTTP2Error(.refused, code: -534, reason: reason) }
        let id = try session.submitRequest(headers, endStream: endStream)
        let stream = HTTP2Stream(id: id, connection: self)
        streams[id] = (stream, handler)
        perform(lifecycle.streamOpened())
        flushSoon()
        return stream
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Our SETTINGS go out first (the server connection preface).
        flushOutput()
        if context.channel.isActive { startTimers() }
    }

    public func channelActive(context: ChannelHandlerContext) {
        startTimers()
        context.fireChannelActive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        self.context = nil
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A server quiescing (NIO's standard signal) drains its connections.
        if event is ChannelShouldQuiesceEvent {
            beginGracefulShutdown()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: Lifecycle: idle timeout, keepalive, graceful shutdown

    private func startTimers() {
        perform(lifecycle.activated())
        scheduleKeepalive()
    }

    private func cancelTimers() {
        for task in [idleTask, keepaliveTask, pingTimeoutTask, shutdownDeadlineTask] { task?.cancel() }
        idleTask = nil
        keepaliveTask = nil
        pingTimeoutTask = nil
        shutdownDeadlineTask = nil
    }

    /// Runs `body` after `delay` on the event loop, with this handler's context.
    private func schedule(in delay: TimeAmount, _ body: @escaping (HTTP2ConnectionHandler) -> Void) -> Scheduled<Void>?
    {
        guard let context else { return nil }
        return context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in body(self) }
    }

    /// Does what the lifecycle asks when streams open and close: the idle clock
    /// runs only while nothing is open, and a graceful shutdown ends with its
    /// last stream.
    private func perform(_ action: HTTP2ConnectionLifecycle.StreamsAction) {
        switch action {
        case .none:
            break
        case .cancelIdleTimer:
            idleTask?.cancel()
            idleTask = nil
        case .startIdleTimer:
            guard let timeout = configuration.idleTimeout else { return }
            idleTask = schedule(in: timeout) { handler in
                handler.idleTask = nil
                if handler.lifecycle.idleTimerFired() == .beginGracefulShutdown { handler.beginGracefulShutdown() }
            }
        case .close:
            context?.close(promise: nil)
        }
    }

    private func scheduleKeepalive() {
        guard let interval = configuration.keepaliveInterval else { return }
        keepaliveTask?.cancel()
        keepaliveTask = schedule(in: interval) { handler in
            handler.keepaliveTask = nil
            guard handler.lifecycle.keepaliveTimerFired() == .sendPing else { return }
            handler.session.ping(payload: Self.keepalivePayload)
            handler.flushOutput()
            handler.pingTimeoutTask = handler.schedule(in: handler.configuration.keepaliveTimeout) { handler in
                handler.pingTimeoutTask = nil
                guard handler.lifecycle.pingTimedOut() == .failAndClose else { return }
                handler.context?.fireErrorCaught(
                    HTTP2Error(
                        .protocolViolation, code: -902,
                        reason: "the peer did not answer a PING in \(handler.configuration.keepaliveTimeout)"))
                handler.context?.close(promise: nil)
            }
        }
    }

    /// Stops accepting new streams and closes once the in-flight ones finish (or at
    /// `gracefulShutdownTimeout`). A server sends a first GOAWAY at once and the
    /// final one, naming the last stream it took, right after; a client just stops
    /// opening streams. Call on the event loop; safe to call more than once.
    public func beginGracefulShutdown() {
        guard let context, case .shutDown(let sendGoAway, let closeNow) = lifecycle.beginGracefulShutdown() else {
            return
        }
        if sendGoAway {
            session.announceShutdown()
            session.goAway()
        }
        flushOutput()
        if closeNow {
            context.close(promise: nil)
            return
        }
        shutdownDeadlineTask = schedule(in: configuration.gracefulShutdownTimeout) { handler in
            handler.shutdownDeadlineTask = nil
            if handler.lifecycle.shutdownDeadlineFired() == .close { handler.context?.close(promise: nil) }
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Anything from the peer proves it alive: restart the keepalive clock.
        scheduleKeepalive()
        // What processing this read makes nghttp2 (and the stream handlers) send
        // goes out in one write at channelReadComplete, after every read of this
        // event-loop turn.
        lifecycle.readBegan()
        do {
            try session.receive(unwrapInboundIn(data))
        } catch {
            // Deliver what was understood, send the GOAWAY, report, close.
            dispatch(session.takeEvents())
            if lifecycle.readFailed() == .flushNow { flushOutput() }
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return
        }
        dispatch(session.takeEvents())
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        if lifecycle.readCompleted() == .flushNow { flushOutput() }
        context.fireChannelReadComplete()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        lifecycle.channelInactive()
        cancelTimers()
        let open = streams
        streams.removeAll()
        for (_, entry) in open.sorted(by: { $0.key < $1.key }) {
            entry.handler.streamClosed(entry.stream, errorCode: .cancel)
        }
        context.fireChannelInactive()
    }

    private func dispatch(_ events: [HTTP2SessionEvent]) {
        for event in events {
            switch event {
            case .headers(let id, let headers, let endStream):
                let entry: (stream: HTTP2Stream, handler: any HTTP2StreamHandler)
                if let existing = streams[id] {
                    entry = existing
                } else if let makeStreamHandler {
                    let stream = HTTP2Stream(id: id, connection: self)
                    entry = (stream, makeStreamHandler(stream))
                    streams[id] = entry
                    perform(lifecycle.streamOpened())
                } else {
                    continue  // a client never accepts streams (push is off)
                }
                entry.handler.headersReceived(headers, endStream: endStream, stream: entry.stream)
            case .data(let id, let bytes, let endStream):
                guard let entry = streams[id] else { continue }
                entry.handler.dataReceived(bytes, endStream: endStream, stream: entry.stream)
            case .streamClosed(let id, let errorCode):
                guard let entry = streams.removeValue(forKey: id) else { continue }
                entry.handler.streamClosed(entry.stream, errorCode: errorCode)
                perform(lifecycle.streamClosed())
                onStreamClosed?()
            case .goAway(let lastStreamID, let errorCode):
                lifecycle.peerWentAway()
                context?.fireUserInboundEventTriggered(
                    HTTP2ConnectionEvent.goAway(lastStreamID: lastStreamID, errorCode: errorCode))
            case .pingAcknowledged(let payload) where payload == Self.keepalivePayload:
                if lifecycle.pingAcknowledged() {
                    pingTimeoutTask?.cancel()
                    pingTimeoutTask = nil
                }
            case .pingAcknowledged, .settingsReceived:
                break
            }
        }
    }

    /// Output asked for by an application call outside a read (a stream written
    /// because another connection's read delivered the bytes, say) is written
    /// once the event loop has processed this turn's I/O: every stream written in
    /// the same turn shares one syscall instead of one each.
    private func flushSoon() {
        guard let context, lifecycle.outputRequested() == .scheduleFlush else { return }
        context.eventLoop.assumeIsolated().execute { [self] in
            if lifecycle.scheduledFlushRuns() == .flushNow { flushOutput() }
        }
    }

    /// Writes what nghttp2 wants sent, completing the promises of the body chunks
    /// it framed once the write is done.
    private func flushOutput() {
        guard let context, !lifecycle.reading else { return }
        let output: ByteBuffer
        do {
            output = try session.drainOutput()
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return
        }
        let framed = session.takeFramedCompletions()
        if output.readableBytes > 0 {
            if framed.isEmpty {
                context.writeAndFlush(wrapOutboundOut(output), promise: nil)
            } else {
                let written = context.eventLoop.makePromise(of: Void.self)
                written.futureResult.assumeIsolated().whenComplete { result in
                    for completion in framed { completion.complete(result) }
                }
                context.writeAndFlush(wrapOutboundOut(output), promise: written)
            }
        } else {
            for completion in framed { completion.complete(.success(())) }
        }
        if !session.isAlive { context.close(promise: nil) }
        // Sending can finish streams (nghttp2 closes a stream when its last frame
        // goes out): deliver those events now rather than at the next read, or a
        // graceful shutdown would wait for traffic to notice its last stream ended.
        let raisedBySending = session.takeEvents()
        if !raisedBySending.isEmpty { dispatch(raisedBySending) }
    }

    // MARK: Stream operations (HTTP2Stream forwards here)

    func respond(streamID: Int32, _ headers: [HTTP2Header], endStream: Bool) throws(HTTP2Error) {
        try session.submitResponse(streamID: streamID, headers, endStream: endStream)
        flushSoon()
    }

    func write(streamID: Int32, _ data: ByteBuffer, endStream: Bool, promise: EventLoopPromise<Void>?) {
        do {
            try session.sendData(streamID: streamID, data, endStream: endStream, promise: promise)
        } catch {
            promise?.fail(error)
            return
        }
        flushSoon()
    }

    func write(streamID: Int32, _ data: ByteBuffer, endStream: Bool, consumingOn source: HTTP2Stream) {
        let count = data.readableBytes
        do {
            try session.sendData(
                streamID: streamID, data, endStream: endStream,
                completion: count > 0 ? .consume(source, count: count) : nil)
        } catch {
            return
        }
        flushSoon()
    }

    func writeTrailers(streamID: Int32, _ headers: [HTTP2Header]) throws(HTTP2Error) {
        try session.sendTrailers(streamID: streamID, headers)
        flushSoon()
    }

    func consume(streamID: Int32, count: Int) {
        session.consume(streamID: streamID, count: count)
        flushSoon()
    }

    func reset(streamID: Int32, errorCode: HTTP2ErrorCode) {
        session.resetStream(streamID, errorCode: errorCode)
        flushSoon()
    }

    func pendingOutboundBytes(streamID: Int32) -> Int {
        session.pendingOutboundBytes(streamID: streamID)
    }
}

@available(*, unavailable)
extension HTTP2ConnectionHandler: Sendable {}

/// Connection-level news, fired as user inbound events.
public enum HTTP2ConnectionEvent: Sendable {
    /// The peer will process no stream above `lastStreamID`; open no new streams
    /// here.
    case goAway(lastStreamID: Int32, errorCode: HTTP2ErrorCode)
}
