public import NIOCore
public import WeftHTTP2

/// Carries one HTTP/2 request from a downstream stream (a caller's) to the
/// upstream and its response back: headers, body and trailers, both ways, as they
/// arrive. `dispatch` decides where the request goes and how (a
/// `ForwardingPlan`); an `UpstreamCall` makes the attempts.
///
/// Flow control is linked end to end: bytes received on one stream are consumed
/// (reopening that peer's window) only once the other side has taken them, so a
/// slow reader on either side slows the writer on the other and the proxy holds
/// at most one window per stream (plus the call's replay buffer, 64 KiB, while
/// a retry is possible).
///
/// Failures become responses through `ProxyErrorResponse` only while no response
/// has begun; after that, a failure resets the downstream stream (the caller sees
/// the truncation rather than a forged ending).
public final class HTTP2StreamForwarder: HTTP2StreamHandler, UpstreamCallClient {
    /// Decides where a request goes and rewrites its headers, according to the
    /// pipeline that made this forwarder; or refuses it with a `ProxyError`.
    public typealias Dispatch = (_ headers: [HTTP2Header], _ endStream: Bool) -> Result<ForwardingPlan, ProxyError>
    /// Takes over a stream whose request is `CONNECT`, returning the handler that
    /// now owns it; nil leaves the request to the forwarder.
    public typealias TakeOver = (_ headers: [HTTP2Header], _ endStream: Bool, _ stream: HTTP2Stream) ->
        (any HTTP2StreamHandler)?

    private let downstream: HTTP2Stream
    private let eventLoop: any EventLoop
    private let dispatch: Dispatch
    private let errors: ProxyErrorResponse
    /// Who takes a CONNECT stream over (the inbound side's tunnels to the
    /// application), and the handler that did: every later event goes to it.
    private let takeOver: TakeOver?
    private var replacement: (any HTTP2StreamHandler)?
    private var observer: RequestObserver?
    private var call: UpstreamCall?
    private var grpc = false
    private var requestEnded = false
    private var responseStarted = false
    private var responseEnded = false
    private var finished = false
    /// Past it a request body is refused with 413 (nil: no limit).
    private let maximumRequestBody: Int?
    private var bodyBytes = 0

    public init(
        downstream: HTTP2Stream, eventLoop: any EventLoop, errors: ProxyErrorResponse, observer: RequestObserver? = nil,
        takeOver: TakeOver? = nil, maximumRequestBody: Int? = nil, dispatch: @escaping Dispatch
    ) {
        self.maximumRequestBody = maximumRequestBody
        self.takeOver = takeOver
        self.downstream = downstream
        self.eventLoop = eventLoop
        self.errors = errors
        self.observer = observer
        self.dispatch = dispatch
    }

    // MARK: HTTP2StreamHandler (the downstream stream, and the call's response)

    public func headersReceived(_ headers: [HTTP2Header], endStream: Bool, stream: HTTP2Stream) {
        if let replacement {
            replacement.headersReceived(headers, endStream: endStream, stream: stream)
            return
        }
        if stream === downstream, call == nil, !finished, let takeOver,
            headers[first: ":method"] == "CONNECT", let handler = takeOver(headers, endStream, stream)
        {
            replacement = handler
            return
        }
        if stream === downstream {
            requestHeaders(headers, endStream: endStream)
        } else {
            responseHeaders(headers, endStream: endStream)
        }
    }

    public func dataReceived(_ data: ByteBuffer, endStream: Bool, stream: HTTP2Stream) {
        if let replacement {
            replacement.dataReceived(data, endStream: endStream, stream: stream)
            return
        }
        if stream === downstream {
            if endStream { requestEnded = true }
            guard !finished, let call else {
                stream.consume(data.readableBytes)
                return
            }
            bodyBytes += data.readableBytes
            if let maximumRequestBody, bodyBytes > maximumRequestBody {
                stream.consume(data.readableBytes)
                refuseBody(maximumRequestBody)
                return
            }
            call.send(data, endStream: endStream, consumingOn: stream)
        } else {
            guard !finished, responseStarted else {
                stream.consume(data.readableBytes)
                return
            }
            if endStream { responseEnded = true }
            if data.readableBytes > 0 {
                downstream.write(data, endStream: endStream, consumingOn: stream)
            } else if endStream {
                downstream.write(data, endStream: true)
            }
            if endStream { complete() }
        }
    }

    public func streamClosed(_ stream: HTTP2Stream, errorCode: HTTP2ErrorCode) {
        if let replacement {
            replacement.streamClosed(stream, errorCode: errorCode)
            return
        }
        if stream === downstream {
            // The caller is gone (or the exchange is over): stop the upstream too.
            if !responseEnded || !requestEnded { call?.cancel() }
            call = nil
            finished = true
            return
        }
        // The upstream stream of a committed response closed.
        call = nil
        guard !finished else { return }
        if !responseEnded {
            // Cut after the response began: pass the reset on.
            finished = true
            observer?.completed(status: 502)
            downstream.reset(errorCode == .noError ? .internalError : errorCode)
        } else if !requestEnded {
            // Answered early (RFC 9113 8.1): the caller may stop sending.
            downstream.reset(.noError)
        }
    }

    public func upstreamFailed(_ error: ProxyError) {
        call = nil
        fail(error)
    }

    // MARK: Request: downstream → upstream

    private func requestHeaders(_ headers: [HTTP2Header], endStream: Bool) {
        if let call {
            // Trailers.
            requestEnded = true
            call.sendTrailers(headers)
            return
        }
        guard !finished else { return }
        requestEnded = endStream
        observer?.requestBegan(headers)
        grpc = ProxyErrorResponse.isGRPC(contentType: headers[first: "content-type"])
        if let maximumRequestBody, let declared = headers[first: "content-length"].flatMap({ Int($0) }),
            declared > maximumRequestBody
        {
            fail(
                .bodyTooLarge("a request body of \(declared) bytes is over this proxy's limit of \(maximumRequestBody)")
            )
            return
        }
        switch dispatch(headers, endStream) {
        case .success(var plan):
            observer?.routed(&plan)
            if case .local(let response) = plan.target {
                answer(response, extra: plan.responseHeaders, head: headers[first: ":method"] == "HEAD")
                return
            }
            let call = UpstreamCall(plan: plan, client: self)
            self.call = call
            call.start()
        case .failure(let error):
            fail(error)
        }
    }

    private func writeTrailers(_ trailers: [HTTP2Header], to stream: HTTP2Stream) {
        do {
            try stream.writeTrailers(trailers)
        } catch {
            stream.reset(.internalError)
        }
    }

    // MARK: Response: upstream → downstream

    private func responseHeaders(_ headers: [HTTP2Header], endStream: Bool) {
        guard !finished else { return }
        if responseStarted {
            // Trailers end the response.
            responseEnded = true
            writeTrailers(headers, to: downstream)
            complete()
            return
        }
        // The call validated `:status` and passed over informational answers.
        let code = headers[first: ":status"].flatMap { Int($0) } ?? 0
        responseStarted = true
        do {
            try downstream.respond(headers, endStream: endStream)
        } catch {
            call?.cancel()
            finished = true
            return
        }
        observer?.responseBegan(status: code)
        if endStream {
            responseEnded = true
            complete()
        }
    }

    /// The response ended: the exchange is over for telemetry. Request bytes still
    /// arriving keep flowing upstream, which decides what to do with them.
    private func complete() {
        observer?.completed()
    }

    /// The body grew past the limit: 413 if no answer began, else the stream
    /// is reset; the upstream is stopped either way.
    private func refuseBody(_ limit: Int) {
        call?.cancel()
        call = nil
        if responseStarted {
            finished = true
            observer?.completed(status: 413)
            downstream.reset(.cancel)
        } else {
            fail(.bodyTooLarge("the request body is over this proxy's limit of \(limit) bytes"))
        }
    }

    /// Answers the caller with the proxy's own response (a redirect, a direct
    /// response); the rest of the request body is not wanted.
    private func answer(_ response: LocalResponse, extra: [HTTP2Header], head: Bool) {
        finished = true
        responseStarted = true
        responseEnded = true
        observer?.responseBegan(status: response.status)
        observer?.completed()
        let fields = response.http2Headers(proxyName: errors.proxyName, extra: extra)
        let body = head ? nil : (response.body.flatMap { $0.readableBytes > 0 ? $0 : nil })
        // With a body, a caller still sending is stopped once the body is
        // written (RST_STREAM NO_ERROR), as for the proxy's errors. Without
        // one, the head ends the response and the rest of the request is
        // read and dropped: a reset after an empty write could overtake the
        // head (curl then saw no response at all).
        ProxyErrorResponse.send(
            fields, body: body, on: downstream, stoppingRequestOn: requestEnded || body == nil ? nil : eventLoop)
    }

    /// Answers the caller with `error` (only before a response began).
    private func fail(_ error: ProxyError) {
        guard !finished, !responseStarted else { return }
        finished = true
        observer?.completed(status: error.status.code, error: error)
        errors.respond(error, grpc: grpc, on: downstream, stoppingRequestOn: requestEnded ? nil : eventLoop)
    }
}

@available(*, unavailable)
extension HTTP2StreamForwarder: Sendable {}
