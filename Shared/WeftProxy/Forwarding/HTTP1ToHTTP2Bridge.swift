public import NIOCore
public import NIOHTTP1
public import WeftHTTP2
import WeftProtocol

/// Carries HTTP/1.1 requests from an application's connection onto HTTP/2 streams
/// and their responses back: the application-facing side of a proxy. It sits on
/// an HTTP/1.1 server pipeline (NIO's `configureHTTPServerPipeline` with
/// pipelining assistance, so requests arrive one at a time) and opens one stream
/// per request with `openStream` (an `HTTP2ConnectionPool`, typically).
///
/// - Heads are translated by `HTTPMessageTranslation` (Host ↔ :authority,
///   connection-specific fields dropped). A request that cannot be translated
///   gets 400, a CONNECT 501 (tunnels enter as raw TCP, see `HTTP2Tunnel`).
/// - Bodies stream both ways. A request body arrives as chunked or
///   length-delimited HTTP/1.1 and leaves as DATA frames; a response without
///   `content-length` goes back chunked, with its trailers.
/// - `Expect: 100-continue` is answered here at once (the body is wanted: flow
///   control, not a refusal, is what slows it down) and not forwarded.
/// - Backpressure both ways: the application's connection stops being read while
///   more than `maximumBufferedBytes` wait to be framed on the stream, and response
///   bytes are consumed (reopening the upstream's window) only once written to the
///   application.
/// - Failures: no stream (pool full) → 503; upstream refused or reset the stream
///   before answering → 502 (503 for REFUSED_STREAM); a response cut after its head
///   closes the connection, so the application sees the truncation.
///
/// Use on one event loop: the streams must live on the channel's loop (pools are
/// per loop).
public final class HTTP1ToHTTP2Bridge: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPServerRequestPart
    public typealias OutboundIn = HTTPServerResponsePart
    public typealias OutboundOut = HTTPServerResponsePart

    /// Opens a tunnel's stream (CONNECT), which is not retried.
    public typealias StreamOpener = (_ headers: [HTTP2Header], _ endStream: Bool, _ handler: any HTTP2StreamHandler) ->
        EventLoopFuture<HTTP2Stream>

    public static let maximumBufferedBytes = 64 * 1024

    private let scheme: String
    private let dispatch: HTTP2StreamForwarder.Dispatch
    /// Opens the mesh stream of a `CONNECT host:port` tunnel; nil where CONNECT
    /// is not offered (answered 400).
    private let openTunnel: StreamOpener?
    /// A CONNECT is waiting for the peer's answer: nothing more is read.
    private var tunnelPending = false
    let errors: ProxyErrorResponse
    let makeObserver: (() -> RequestObserver)?
    private var context: ChannelHandlerContext?
    private let flusher = FlushCoalescer()
    private var exchange: Exchange?
    private var readPending = false
    /// Past it a request body is refused with 413 (nil: no limit).
    private let maximumRequestBody: Int?
    private var bodyBytes = 0
    /// A request body is still arriving (head read, end not yet).
    private var requestBodyPending = false
    /// After an answer that closes the connection while the body still arrived:
    /// the rest is read and dropped (bounded), so the client reads the answer
    /// rather than a reset (a socket closed with unread bytes sends RST).
    private var lingering = false
    private var lingeredBytes = 0
    static let lingerBytes = 1 << 20
    static let lingerTime = TimeAmount.seconds(2)

    /// `scheme` is the `:scheme` of the requests (`http` for plain applications).
    /// The opener fails with a `ProxyError` to have it answered; `errors` renders
    /// every failure.
    public init(
        scheme: String = "http", errors: ProxyErrorResponse = ProxyErrorResponse(proxyName: "weft"),
        makeObserver: (() -> RequestObserver)? = nil, openTunnel: StreamOpener? = nil,
        maximumRequestBody: Int? = nil, dispatch: @escaping HTTP2StreamForwarder.Dispatch
    ) {
        self.maximumRequestBody = maximumRequestBody
        self.scheme = scheme
        self.errors = errors
        self.makeObserver = makeObserver
        self.openTunnel = openTunnel
        self.dispatch = dispatch
    }

    public func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        exchange?.abandon()
        exchange = nil
    }

    public func channelInactive(context: ChannelHandlerContext) {
        exchange?.abandon()
        exchange = nil
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            begin(head, context: context)
        case .body(let chunk) where lingering:
            lingeredBytes += chunk.readableBytes
            if lingeredBytes > Self.lingerBytes { context.close(promise: nil) }
        case .end where lingering:
            context.close(promise: nil)
        case .body(let chunk):
            bodyBytes += chunk.readableBytes
            if let maximumRequestBody, bodyBytes > maximumRequestBody {
                // Counted as it arrives (chunked): refused, or cut if the answer began.
                exchange?.refuseBody(
                    .bodyTooLarge("the request body is over this proxy's limit of \(maximumRequestBody) bytes"))
                return
            }
            exchange?.sendBody(chunk)
        case .end(let trailers):
            requestBodyPending = false
            exchange?.endRequest(trailers: trailers)
        }
    }

    public func read(context: ChannelHandlerContext) {
        if tunnelPending || exchange?.isHoldingReads == true {
            readPending = true
        } else {
            context.read()
        }
    }

    /// An exchange wants reading to go on (it opened its stream, or its buffer
    /// drained).
    fileprivate func resumeReading() {
        guard readPending, let context, exchange?.isHoldingReads != true else { return }
        readPending = false
        context.read()
    }

    /// Ends `finished`'s response (with `trailers`, unless the response was cut
    /// and `trailers` is nil with `cut`) and, when `close`, closes the connection
    /// once the end has been written.
    fileprivate func exchangeFinished(_ finished: Exchange, trailers: HTTPHeaders?, cut: Bool = false, close: Bool) {
        if exchange === finished { exchange = nil }
        guard let context else { return }
        if cut {
            // What was written reaches the caller first; then the cut shows.
            context.flush()
            context.close(promise: nil)
            return
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        if close {
            written.futureResult.assumeIsolated().whenComplete { [self] _ in closeAfterAnswer() }
        }
        context.write(wrapOutboundOut(.end(trailers)), promise: written)
        flusher.flushSoon(context)
        if !close { resumeReading() }
    }

    /// Closes once an answer that ends the connection is written: at once, or,
    /// while the client is still sending a body it was refused, after reading
    /// and dropping the rest of it (up to 1 MiB or 2 s; nginx's lingering close).
    private func closeAfterAnswer() {
        guard let context else { return }
        guard requestBodyPending else {
            context.close(promise: nil)
            return
        }
        lingering = true
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.lingerTime) { [self] in
            self.context?.close(promise: nil)
        }
        readPending = false
        context.read()
    }

    fileprivate func write(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>? = nil) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(wrapOutboundOut(part), promise: promise)
        flusher.flushSoon(context)
    }

    private func begin(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard exchange == nil else {
            // Pipelining assistance delivers one request at a time; anything else is
            // a misconfigured pipeline.
            context.close(promise: nil)
            return
        }
        let declared = head.headers.first(name: "content-length").flatMap { Int($0) } ?? 0
        let hasBody = head.headers[canonicalForm: "transfer-encoding"].isEmpty == false || declared > 0
        let exchange = Exchange(
            bridge: self, eventLoop: context.eventLoop, request: head, requestHasBody: hasBody,
            observer: makeObserver?())
        self.exchange = exchange
        bodyBytes = 0
        requestBodyPending = hasBody
        if let maximumRequestBody, declared > maximumRequestBody {
            // Declared too large: refused before any of it is read or sent.
            exchange.answer(
                .bodyTooLarge(
                    "a request body of \(declared) bytes is over this proxy's limit of \(maximumRequestBody)"),
                close: true)
            return
        }
        if head.method == .CONNECT {
            guard let openTunnel else {
                exchange.answer(.badRequest("CONNECT is not offered on this port"), close: true)
                return
            }
            // The exchange only answers failures; a tunnel that opens replaces
            // this whole HTTP/1.1 pipeline with raw bytes.
            tunnelPending = true
            let request = ConnectRequest(bridge: self, exchange: exchange)
            openTunnel(HTTP2Tunnel.requestHeaders(authority: head.uri), false, request)
                .assumeIsolated().whenFailure { error in
                    request.failed(
                        error as? ProxyError
                            ?? ProxyLoop.proxyError(error, upstream: "the destination", endpoint: head.uri))
                }
            return
        }
        var headers: [HTTP2Header]
        do {
            headers = try HTTPMessageTranslation.http2RequestHeaders(for: head, scheme: scheme)
        } catch {
            exchange.answer(.badRequest(error.reason), close: true)
            return
        }
        if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
            headers.removeAll { $0.name == "expect" }
            if hasBody { write(.head(HTTPResponseHead(version: head.version, status: .continue))) }
        }
        exchange.requestBegan(headers)
        switch dispatch(headers, !hasBody) {
        case .success(var plan):
            exchange.routed(&plan)
            if case .local(let response) = plan.target {
                exchange.answer(response, extra: plan.responseHeaders, close: hasBody)
                return
            }
            exchange.open(plan)
        case .failure(let error):
            exchange.answer(error, close: hasBody)
        }
    }
}

@available(*, unavailable)
extension HTTP1ToHTTP2Bridge: Sendable {}

extension HTTP1ToHTTP2Bridge {
    /// The peer accepted the tunnel: the HTTP/1.1 handlers leave, the application
    /// hears `200 Connection Established`, and raw bytes cross from here on.
    fileprivate func switchToTunnel(
        _ request: ConnectRequest, headers: [HTTP2Header], endStream: Bool, stream: HTTP2Stream
    ) {
        tunnelPending = false
        exchange = nil
        guard let context else {
            stream.reset(.cancel)
            return
        }
        let pipeline = context.pipeline.syncOperations
        let channel = context.channel
        do {
            if let encoder = try? pipeline.handler(type: HTTPResponseEncoder.self) {
                pipeline.removeHandler(encoder, promise: nil)
            }
            if let decoder = try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) {
                pipeline.removeHandler(decoder, promise: nil)
            }
            if let pipelining = try? pipeline.handler(type: HTTPServerPipelineHandler.self) {
                pipeline.removeHandler(pipelining, promise: nil)
            }
            if let validator = try? pipeline.handler(type: NIOHTTPResponseHeadersValidator.self) {
                pipeline.removeHandler(validator, promise: nil)
            }
            if let responder = try? pipeline.handler(type: HTTP1ParserErrorResponder.self) {
                pipeline.removeHandler(responder, promise: nil)
            }
            pipeline.removeHandler(context: context, promise: nil)
            // Raw bytes from here on: the answer, then whatever the tunnel carries.
            channel.writeAndFlush(ByteBuffer(string: "HTTP/1.1 200 Connection Established\r\n\r\n"), promise: nil)
            let tunnel = try HTTP2Tunnel.connecting(channel: channel)
            request.tunnel = tunnel
            tunnel.headersReceived(headers, endStream: endStream, stream: stream)
            // The read this bridge held back while the peer answered is the
            // tunnel's to make now.
            readPending = false
            channel.read()
        } catch {
            stream.reset(.cancel)
            channel.close(promise: nil)
        }
    }

    fileprivate func tunnelRefused() {
        tunnelPending = false
    }
}

/// The mesh stream of a CONNECT until the peer answers: a 2xx turns the
/// application's connection into a tunnel (and every later stream event goes to
/// the `HTTP2Tunnel`); anything else is answered like any failed request, and
/// the connection closes.
private final class ConnectRequest: HTTP2StreamHandler {
    private weak var bridge: HTTP1ToHTTP2Bridge?
    private let exchange: Exchange
    var tunnel: HTTP2Tunnel?
    private var answered = false

    init(bridge: HTTP1ToHTTP2Bridge, exchange: Exchange) {
        self.bridge = bridge
        self.exchange = exchange
    }

    func failed(_ error: ProxyError) {
        guard !answered else { return }
        answered = true
        bridge?.tunnelRefused()
        exchange.answer(error, close: true)
    }

    func headersReceived(_ headers: [HTTP2Header], endStream: Bool, stream: HTTP2Stream) {
        if let tunnel {
            tunnel.headersReceived(headers, endStream: endStream, stream: stream)
            return
        }
        guard !answered, let code = headers[first: ":status"].flatMap({ Int($0) }), code >= 200 else { return }
        guard (200..<300).contains(code), !endStream else {
            // The peer refused (403 denied, 502 the application is unreachable): its
            // reason travels in x-weft-error.
            let reason = headers[first: WeftHeaders.error] ?? "status \(code)"
            failed(code == 403 ? .denied("the destination refused the tunnel: \(reason)") : .upstreamReset(reason))
            if !endStream { stream.reset(.cancel) }
            return
        }
        answered = true
        guard let bridge else {
            stream.reset(.cancel)
            return
        }
        bridge.switchToTunnel(self, headers: headers, endStream: endStream, stream: stream)
    }

    func dataReceived(_ data: ByteBuffer, endStream: Bool, stream: HTTP2Stream) {
        guard let tunnel else {
            stream.consume(data.readableBytes)
            return
        }
        tunnel.dataReceived(data, endStream: endStream, stream: stream)
    }

    func streamClosed(_ stream: HTTP2Stream, errorCode: HTTP2ErrorCode) {
        if let tunnel {
            tunnel.streamClosed(stream, errorCode: errorCode)
            return
        }
        failed(ProxyError.streamClosed(errorCode, upstream: "the destination"))
    }
}

/// One request and its response.
private final class Exchange: UpstreamCallClient {
    private weak var bridge: HTTP1ToHTTP2Bridge?
    private let eventLoop: any EventLoop
    private let request: HTTPRequestHead
    private var call: UpstreamCall?
    private var requestEnded: Bool
    private var bufferedTowardsStream = 0
    private var responseStarted = false
    private var finished = false
    private var observer: RequestObserver?
    private let grpc: Bool

    init(
        bridge: HTTP1ToHTTP2Bridge, eventLoop: any EventLoop, request: HTTPRequestHead, requestHasBody: Bool,
        observer: RequestObserver?
    ) {
        self.bridge = bridge
        self.eventLoop = eventLoop
        self.request = request
        self.requestEnded = !requestHasBody
        self.observer = observer
        self.grpc = ProxyErrorResponse.isGRPC(contentType: request.headers.first(name: "content-type"))
    }

    /// Whether the application's connection should not be read: enough is
    /// waiting to be taken by the call.
    var isHoldingReads: Bool {
        !finished && !requestEnded && bufferedTowardsStream >= HTTP1ToHTTP2Bridge.maximumBufferedBytes
    }

    func requestBegan(_ headers: [HTTP2Header]) { observer?.requestBegan(headers) }

    func routed(_ plan: inout ForwardingPlan) { observer?.routed(&plan) }

    func open(_ plan: ForwardingPlan) {
        let call = UpstreamCall(plan: plan, client: self)
        self.call = call
        call.start()
    }

    // MARK: Request: application → call

    func sendBody(_ chunk: ByteBuffer) {
        guard !finished, let call else { return }
        let count = chunk.readableBytes
        guard count > 0 else { return }
        bufferedTowardsStream += count
        let written = eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenComplete { [self] _ in
            bufferedTowardsStream -= count
            if bufferedTowardsStream < HTTP1ToHTTP2Bridge.maximumBufferedBytes { bridge?.resumeReading() }
        }
        call.send(chunk, endStream: false, promise: written)
    }

    func endRequest(trailers: HTTPHeaders?) {
        if !requestEnded, let call {
            let fields = trailers.map { HTTPMessageTranslation.regularHeaders($0) } ?? []
            if fields.isEmpty {
                call.send(ByteBuffer(), endStream: true, promise: nil)
            } else {
                call.sendTrailers(fields)
            }
        }
        requestEnded = true
        bridge?.resumeReading()
    }

    // MARK: Response: call → application

    func headersReceived(_ headers: [HTTP2Header], endStream: Bool, stream: HTTP2Stream) {
        guard !finished else { return }
        if responseStarted {
            // Trailers.
            var fields = HTTPHeaders()
            for header in headers where !header.name.hasPrefix(":") {
                fields.add(name: header.name, value: header.value)
            }
            complete(trailers: fields)
            return
        }
        var head: HTTPResponseHead
        do {
            head = try HTTPMessageTranslation.http1ResponseHead(for: headers)
        } catch {
            stream.reset(.protocolError)
            answer(.badResponse(error.reason), close: !requestEnded)
            return
        }
        head.version = request.version
        if !request.isKeepAlive || !requestEnded {
            // The rest of an unfinished request body cannot be skipped on this
            // connection; close after the response.
            head.headers.replaceOrAdd(name: "connection", value: "close")
        }
        responseStarted = true
        observer?.responseBegan(status: Int(head.status.code))
        bridge?.write(.head(head))
        if endStream { complete(trailers: nil) }
    }

    func dataReceived(_ data: ByteBuffer, endStream: Bool, stream: HTTP2Stream) {
        guard !finished, responseStarted else {
            stream.consume(data.readableBytes)
            return
        }
        let count = data.readableBytes
        if count > 0 {
            let written = eventLoop.makePromise(of: Void.self)
            written.futureResult.assumeIsolated().whenSuccess { stream.consume(count) }
            bridge?.write(.body(.byteBuffer(data)), promise: written)
        }
        if endStream { complete(trailers: nil) }
    }

    func streamClosed(_ stream: HTTP2Stream, errorCode: HTTP2ErrorCode) {
        call = nil
        guard !finished else { return }
        // Cut after the head: only closing tells the application.
        finished = true
        observer?.completed(status: 502)
        bridge?.exchangeFinished(self, trailers: nil, cut: true, close: true)
    }

    func upstreamFailed(_ error: ProxyError) {
        call = nil
        answer(error, close: !requestEnded)
    }

    private func complete(trailers: HTTPHeaders?) {
        guard !finished else { return }
        finished = true
        observer?.completed()
        bridge?.exchangeFinished(self, trailers: trailers, close: !request.isKeepAlive || !requestEnded)
    }

    /// Answers with the proxy's own response for `error`.
    func answer(_ error: ProxyError, close: Bool) {
        guard !finished, let bridge else { return }
        finished = true
        observer?.completed(status: error.status.code, error: error)
        let closing = close || !request.isKeepAlive
        if grpc {
            // gRPC over HTTP/1.1 is not gRPC; still, say it the way the caller reads.
            var (head, _) = bridge.errors.http1(error, version: request.version, close: closing)
            let (fields, _) = bridge.errors.http2(error, grpc: true)
            head.status = .ok
            head.headers = HTTPHeaders(fields.filter { !$0.name.hasPrefix(":") }.map { ($0.name, $0.value) })
            head.headers.add(name: "content-length", value: "0")
            if closing { head.headers.add(name: "connection", value: "close") }
            bridge.write(.head(head))
        } else {
            let (head, body) = bridge.errors.http1(error, version: request.version, close: closing)
            bridge.write(.head(head))
            bridge.write(.body(.byteBuffer(body)))
        }
        call?.cancel()
        call = nil
        bridge.exchangeFinished(self, trailers: nil, close: closing)
    }

    /// Answers with the proxy's own response (a redirect, a direct response).
    /// A request body still coming is not read: the connection closes after.
    func answer(_ response: LocalResponse, extra: [HTTP2Header], close: Bool) {
        guard !finished, let bridge else { return }
        finished = true
        responseStarted = true
        observer?.responseBegan(status: response.status)
        observer?.completed()
        let closing = close || !request.isKeepAlive
        bridge.write(
            .head(
                response.http1Head(
                    proxyName: bridge.errors.proxyName, extra: extra, version: request.version, close: closing)))
        if let body = response.body, body.readableBytes > 0, request.method != .HEAD {
            bridge.write(.body(.byteBuffer(body)))
        }
        bridge.exchangeFinished(self, trailers: nil, close: closing)
    }

    /// The body grew past the limit: 413 if no answer began, else the
    /// connection is cut.
    func refuseBody(_ error: ProxyError) {
        guard !finished else { return }
        if responseStarted {
            finished = true
            call?.cancel()
            call = nil
            observer?.completed(status: 413, error: error)
            bridge?.exchangeFinished(self, trailers: nil, cut: true, close: true)
        } else {
            answer(error, close: true)
        }
    }

    /// The application went away: stop the upstream.
    func abandon() {
        guard !finished else { return }
        finished = true
        call?.cancel()
        call = nil
    }
}
