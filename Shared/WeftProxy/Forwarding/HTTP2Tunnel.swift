public import NIOCore
public import WeftHTTP2

/// A TCP tunnel over one HTTP/2 stream (RFC 9113 section 8.5, `CONNECT`): raw
/// bytes cross between the stream and a TCP channel, both ways, each direction
/// ending on its own (a half-close on one side becomes END_STREAM or a TCP
/// half-close on the other).
///
/// - On the **accepting** side (a proxy's inbound port), the tunnel is the stream
///   handler: it checks the request (`CONNECT` with `host:port`), dials the target
///   with the given `Dialer`, answers 200 once connected (502 if the dial fails,
///   400 or 405 for a bad request) and then carries bytes.
/// - On the **connecting** side (an app's TCP connection entering the mesh), it
///   bridges an accepted channel through a stream the caller opens with
///   `HTTP2Tunnel.requestHeaders(authority:)`; bytes flow once a 2xx arrives, and
///   any other answer closes the channel.
///
/// Backpressure is end to end and nothing is buffered without bound: bytes from the
/// stream are consumed (reopening the peer's window) only once the TCP write
/// completed, and the TCP channel stops reading while more than
/// `maximumBufferedBytes` wait to be framed on the stream. Once the tunnel is open
/// a TCP failure resets the stream with CONNECT_ERROR and a stream reset aborts the
/// TCP connection. Everything runs on one event loop: the dialer must connect on
/// the loop it is given, and an accepted channel must be on the stream's loop.
public final class HTTP2Tunnel: HTTP2StreamHandler {
    /// Connects to `host`:`port` on `eventLoop`. The policy of which targets are
    /// allowed, and the connect timeout, belong to the dialer.
    public typealias Dialer =
        @Sendable (_ host: String, _ port: Int, _ eventLoop: any EventLoop) -> EventLoopFuture<any Channel>

    /// Bytes read from TCP and not yet framed on the stream before reading pauses.
    public static let maximumBufferedBytes = 64 * 1024

    private enum State {
        /// Accepting side, before the CONNECT request.
        case awaitingRequest
        /// Accepting side, dialling the target.
        case dialling
        /// Connecting side, waiting for the proxy's answer.
        case awaitingResponse
        case open
        case closed
    }

    private var state: State
    private let eventLoop: any EventLoop
    private let dialer: Dialer?
    private var stream: HTTP2Stream?
    private var channel: (any Channel)?
    private var socketHandler: TunnelSocketHandler?
    /// Stream bytes received before the channel could take them (unconsumed, so
    /// bounded by the stream window).
    private var early: [ByteBuffer] = []
    private var streamInputEnded = false
    private var streamOutputEnded = false
    /// Connecting side: TCP bytes read before the proxy answered (reading pauses at
    /// once, so this holds at most one read).
    private var heldFromSocket: [ByteBuffer] = []
    private var socketInputEndedEarly = false
    /// Bytes handed to the stream whose write has not completed.
    private var bufferedTowardsStream = 0

    private init(state: State, eventLoop: any EventLoop, dialer: Dialer?, channel: (any Channel)?) {
        self.state = state
        self.eventLoop = eventLoop
        self.dialer = dialer
        self.channel = channel
    }

    /// The accepting side: one tunnel per stream, from a server's stream handler
    /// factory.
    public static func accepting(eventLoop: any EventLoop, dialer: @escaping Dialer) -> HTTP2Tunnel {
        HTTP2Tunnel(state: .awaitingRequest, eventLoop: eventLoop, dialer: dialer, channel: nil)
    }

    /// The connecting side: bridges `channel` through the stream this handler is
    /// given to. The channel's reads wait until the proxy answers 2xx. Call on the
    /// channel's event loop.
    public static func connecting(channel: any Channel) throws -> HTTP2Tunnel {
        channel.eventLoop.preconditionInEventLoop()
        let tunnel = HTTP2Tunnel(state: .awaitingResponse, eventLoop: channel.eventLoop, dialer: nil, channel: channel)
        try tunnel.attach(to: channel, reading: false)
        return tunnel
    }

    /// The request headers of a tunnel to `authority` (`host:port`).
    public static func requestHeaders(authority: String) -> [HTTP2Header] {
        [HTTP2Header(":method", "CONNECT"), HTTP2Header(":authority", authority)]
    }

    /// Splits `host:port` (IPv6 hosts in brackets); nil unless the port is 1–65535
    /// and the host is non-empty.
    public static func parseAuthority(_ authority: String) -> (host: String, port: Int)? {
        guard let colon = authority.lastIndex(of: ":"),
            let port = Int(authority[authority.index(after: colon)...]), (1...65535).contains(port)
        else { return nil }
        var host = Substring(authority[..<colon])
        if host.hasPrefix("[") {
            guard host.hasSuffix("]") else { return nil }
            host = host.dropFirst().dropLast()
        } else if host.contains(":") {
            return nil
        }
        guard !host.isEmpty, host.utf8.count <= 253 else { return nil }
        return (String(host), port)
    }

    // MARK: HTTP2StreamHandler

    public func headersReceived(_ headers: [HTTP2Header], endStream: Bool, stream: HTTP2Stream) {
        self.stream = stream
        switch state {
        case .awaitingRequest:
            acceptRequest(headers, endStream: endStream, stream: stream)
        case .awaitingResponse:
            guard let status = headers[first: ":status"], let code = Int(status) else { return }
            if (100..<200).contains(code) { return }  // informational: the answer follows
            guard (200..<300).contains(code), !endStream else {
                state = .closed
                if !endStream { stream.reset(.cancel) }
                channel?.close(promise: nil)
                return
            }
            state = .open
            let held = heldFromSocket
            heldFromSocket.removeAll()
            for chunk in held { socketRead(chunk) }
            if socketInputEndedEarly { socketInputEnded() }
            if bufferedTowardsStream < Self.maximumBufferedBytes { socketHandler?.resumeReading() }
        case .open, .dialling:
            // Trailers end the peer's direction like END_STREAM does.
            if endStream { endOfStreamInput() }
        case .closed:
            break
        }
    }

    public func dataReceived(_ data: ByteBuffer, endStream: Bool, stream: HTTP2Stream) {
        switch state {
        case .open:
            forwardToChannel(data)
            if endStream { endOfStreamInput() }
        case .dialling, .awaitingResponse:
            if data.readableBytes > 0 { early.append(data) }
            if endStream { streamInputEnded = true }
        case .awaitingRequest, .closed:
            stream.consume(data.readableBytes)
        }
    }

    public func streamClosed(_ stream: HTTP2Stream, errorCode: HTTP2ErrorCode) {
        let wasOpen = state != .closed
        state = .closed
        self.stream = nil
        early.removeAll()
        // Both directions ended (NO_ERROR) or the stream was reset: either way the
        // TCP connection is done.
        if wasOpen { channel?.close(promise: nil) }
    }

    // MARK: Accepting side

    private func acceptRequest(_ headers: [HTTP2Header], endStream: Bool, stream: HTTP2Stream) {
        guard headers[first: ":method"] == "CONNECT" else {
            refuse(stream, status: "405", extra: [HTTP2Header("allow", "CONNECT")])
            return
        }
        guard headers[first: ":protocol"] == nil else {
            refuse(stream, status: "501", extra: [])  // extended CONNECT (RFC 8441) is not offered
            return
        }
        guard let authority = headers[first: ":authority"], let target = Self.parseAuthority(authority), !endStream
        else {
            refuse(stream, status: "400", extra: [])
            return
        }
        guard let dialer else { return }
        state = .dialling
        let connected = dialer(target.host, target.port, eventLoop)
        connected.hop(to: eventLoop).assumeIsolated().whenComplete { [self] result in
            guard state == .dialling else {
                // The stream went away while dialling.
                if case .success(let channel) = result { channel.close(promise: nil) }
                return
            }
            switch result {
            case .success(let channel):
                do {
                    self.channel = channel
                    try attach(to: channel, reading: true)
                    try stream.respond([HTTP2Header(":status", "200")], endStream: false)
                } catch {
                    channel.close(promise: nil)
                    refuse(stream, status: "502", extra: [])
                    return
                }
                state = .open
                let pending = early
                early.removeAll()
                for chunk in pending { forwardToChannel(chunk) }
                if streamInputEnded { endOfStreamInput() }
            case .failure:
                refuse(stream, status: "502", extra: [])
            }
        }
    }

    /// Answers with `status` and closes the stream: the client may still be sending,
    /// so the answer is followed by RST_STREAM(NO_ERROR) (RFC 9113 8.1), which
    /// nghttp2 queues behind the header-only response.
    private func refuse(_ stream: HTTP2Stream, status: String, extra: [HTTP2Header]) {
        state = .closed
        try? stream.respond(
            [HTTP2Header(":status", status), HTTP2Header("content-length", "0")] + extra, endStream: true)
        stream.reset(.noError)
    }

    // MARK: Both sides

    private func attach(to channel: any Channel, reading: Bool) throws {
        precondition(channel.eventLoop === eventLoop, "a tunnel's channel must be on its stream's event loop")
        let handler = TunnelSocketHandler(tunnel: self, reading: reading)
        socketHandler = handler
        try channel.syncOptions?.setOption(.allowRemoteHalfClosure, value: true)
        try channel.pipeline.syncOperations.addHandler(handler)
    }

    /// Stream → TCP. Consumed once written, so a slow TCP reader slows the peer.
    private func forwardToChannel(_ data: ByteBuffer) {
        guard let channel, let stream else { return }
        let count = data.readableBytes
        guard count > 0 else { return }
        let written = eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenSuccess { stream.consume(count) }
        channel.writeAndFlush(data, promise: written)
    }

    private func endOfStreamInput() {
        streamInputEnded = true
        guard let channel else { return }
        // Half-close: the target sees EOF but may still answer.
        channel.close(mode: .output, promise: nil)
        closeIfBothEnded()
    }

    /// TCP → stream.
    fileprivate func socketRead(_ data: ByteBuffer) {
        if state == .awaitingResponse {
            heldFromSocket.append(data)
            socketHandler?.pauseReading()
            return
        }
        guard state == .open, let stream, !streamOutputEnded else { return }
        let count = data.readableBytes
        bufferedTowardsStream += count
        if bufferedTowardsStream >= Self.maximumBufferedBytes { socketHandler?.pauseReading() }
        let written = eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenComplete { [self] _ in
            bufferedTowardsStream -= count
            if bufferedTowardsStream < Self.maximumBufferedBytes { socketHandler?.resumeReading() }
        }
        stream.write(data, promise: written)
    }

    /// The TCP peer sent FIN (or the connection ended cleanly).
    fileprivate func socketInputEnded() {
        if state == .awaitingResponse { socketInputEndedEarly = true }
        guard state == .open, let stream, !streamOutputEnded else { return }
        streamOutputEnded = true
        stream.write(ByteBuffer(), endStream: true)
        closeIfBothEnded()
    }

    fileprivate func socketFailed() {
        guard state != .closed else { return }
        state = .closed
        stream?.reset(.connectError)
    }

    fileprivate func socketClosed() {
        socketHandler = nil
        channel = nil
        switch state {
        case .open:
            // With half-closure allowed, a FIN arrives as `inputClosed`; the channel
            // closes only when we close it or the connection breaks. Deliver what
            // was read, end our direction, then reset if the peer is still sending.
            state = .closed
            guard let stream else { return }
            if streamOutputEnded {
                if !streamInputEnded { stream.reset(.connectError) }
                return
            }
            streamOutputEnded = true
            let sent = eventLoop.makePromise(of: Void.self)
            sent.futureResult.assumeIsolated().whenComplete { [self] _ in
                if !streamInputEnded { stream.reset(.connectError) }
            }
            stream.write(ByteBuffer(), endStream: true, promise: sent)
        case .awaitingResponse:
            state = .closed
            stream?.reset(.cancel)
        case .awaitingRequest, .dialling, .closed:
            break
        }
    }

    private func closeIfBothEnded() {
        if streamInputEnded && streamOutputEnded { channel?.close(promise: nil) }
    }
}

@available(*, unavailable)
extension HTTP2Tunnel: Sendable {}

/// The tunnel's end on its TCP channel: forwards reads and ends, and withholds
/// reads while the stream side is full.
private final class TunnelSocketHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var tunnel: HTTP2Tunnel?
    private var context: ChannelHandlerContext?
    private var paused: Bool
    private var readRequested = false

    init(tunnel: HTTP2Tunnel, reading: Bool) {
        self.tunnel = tunnel
        self.paused = !reading
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        tunnel = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        tunnel?.socketRead(unwrapInboundIn(data))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            tunnel?.socketInputEnded()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        tunnel?.socketFailed()
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let tunnel = self.tunnel
        self.tunnel = nil
        tunnel?.socketClosed()
        context.fireChannelInactive()
    }

    func read(context: ChannelHandlerContext) {
        if paused {
            readRequested = true
        } else {
            context.read()
        }
    }

    func pauseReading() { paused = true }

    func resumeReading() {
        guard paused else { return }
        paused = false
        if readRequested, let context {
            readRequested = false
            context.read()
        }
    }
}
