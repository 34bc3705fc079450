public import NIOCore
public import WeftHTTP2

/// Carries one HTTP/2 request from a downstream stream (a caller's) to an upstream
/// stream (the one `dispatch` opens) and its response back: headers, body and
/// trailers, both ways, as they arrive.
///
/// Flow control is linked end to end: bytes received on one stream are consumed
/// (reopening that peer's window) only once the other stream has framed and
/// written them, so a slow reader on either side slows the writer on the other and
/// the proxy holds at most one window per stream. Body bytes that arrive before the
/// upstream stream is open wait unconsumed (bounded by the same window).
///
/// Failures become responses through `ProxyErrorResponse` only while no response
/// has begun; after that, a failure resets the downstream stream (the caller sees
/// the truncation rather than a forged ending).
public final class HTTP2StreamForwarder: HTTP2StreamHandler {
    /// Opens the upstream stream for `headers` with `handler` as its handler, or
    /// fails with a `ProxyError`. Decides where the request goes, and rewrites its
    /// headers, according to the pipeline that made this forwarder.
    public typealias Dispatch = (_ headers: [HTTP2Header], _ endStream: Bool, _ handler: any HTTP2StreamHandler) ->
        EventLoopFuture<HTTP2Stream>
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
    private var upstream: HTTP2Stream?
    private var opening = false
    private var grpc = false
    /// Request body that arrived while the upstream stream was opening.
    private var held: [ByteBuffer] = []
    private var heldTrailers: [HTTP2Header]?
    private var requestEnded = false
    private var responseStarted = false
    private var responseEnded = false
    private var finished = false

    public init(
        downstream: HTTP2Stream, eventLoop: any EventLoop, errors: ProxyErrorResponse, observer: RequestObserver? = nil,
        takeOver: TakeOver? = nil, dispatch: @escaping Dispatch
    ) {
        self.takeOver = takeOver
        self.downstream = downstream
        self.eventLoop = eventLoop
        self.errors = errors
        self.observer = observer
        self.dispatch = dispatch
    }

    // MARK: HTTP2StreamHandler (both streams report here)

    public func headersReceived(_ headers: [HTTP2Header], endStream: Bool, stream: HTTP2Stream) {
        if let replacement {
            replacement.headersReceived(headers, endStream: endStream, stream: stream)
            return
        }
        if stream === downstream, !opening, upstream == nil, !finished, let takeOver,
            headers[first: ":method"] == "CONNECT", let handler = takeOver(headers, endStream, stream)
        {
            replacement = handler
            return
        }
        if stream === downstream {
            requestHeaders(headers, endStream: endStream)
        } else {
            responseHeaders(headers, endStream: endStream, from: stream)
        }
    }

    public func dataReceived(_ data: ByteBuffer, endStream: Bool, stream: HTTP2Stream) {
        if let replacement {
            replacement.dataReceived(data, endStream: endStream, stream: stream)
            return
        }
        let count = data.readableBytes
        if stream === downstream {
            if endStream { requestEnded = true }
            guard !finished else {
                stream.consume(count)
                return
            }
            guard let upstream else {
                if count > 0 { held.append(data) }
                return
            }
            forward(data, endStream: endStream, from: stream, to: upstream)
        } else {
            guard !finished, responseStarted else {
                stream.consume(count)
                return
            }
            if endStream { responseEnded = true }
            forward(data, endStream: endStream, from: stream, to: downstream)
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
            if !responseEnded || !requestEnded { upstream?.reset(.cancel) }
            upstream = nil
            finished = true
            return
        }
        upstream = nil
        guard !finished else { return }
        if !responseStarted {
            fail(ProxyError.streamClosed(errorCode, upstream: "the upstream"))
        } else if !responseEnded {
            // Cut after the response began: pass the reset on.
            finished = true
            observer?.completed(status: 502)
            downstream.reset(errorCode == .noError ? .internalError : errorCode)
        } else if !requestEnded {
            // Answered early (RFC 9113 8.1): the caller may stop sending.
            downstream.reset(.noError)
        }
    }

    // MARK: Request: downstream → upstream

    private func requestHeaders(_ headers: [HTTP2Header], endStream: Bool) {
        if opening || upstream != nil {
            // Trailers.
            requestEnded = true
            if let upstream {
                writeTrailers(headers, to: upstream)
            } else {
                heldTrailers = headers
            }
            return
        }
        guard !finished else { return }
        requestEnded = endStream
        grpc = ProxyErrorResponse.isGRPC(contentType: headers[first: "content-type"])
        opening = true
        dispatch(headers, endStream, self).assumeIsolated().whenComplete { [self] result in
            opening = false
            switch result {
            case .success(let stream):
                guard !finished else {
                    stream.reset(.cancel)
                    return
                }
                upstream = stream
                let chunks = held
                held.removeAll()
                for (index, chunk) in chunks.enumerated() {
                    let last = index == chunks.count - 1 && requestEnded && heldTrailers == nil
                    forward(chunk, endStream: last, from: downstream, to: stream)
                }
                if let trailers = heldTrailers {
                    heldTrailers = nil
                    writeTrailers(trailers, to: stream)
                } else if requestEnded && chunks.isEmpty && !endStream {
                    stream.write(ByteBuffer(), endStream: true)
                }
            case .failure(let error):
                fail(error as? ProxyError ?? .upstreamReset("\(error)"))
            }
        }
    }

    private func writeTrailers(_ trailers: [HTTP2Header], to stream: HTTP2Stream) {
        do {
            try stream.writeTrailers(trailers)
        } catch {
            stream.reset(.internalError)
        }
    }

    /// Writes `data` on `target`; consumes it on `source` once written.
    private func forward(_ data: ByteBuffer, endStream: Bool, from source: HTTP2Stream, to target: HTTP2Stream) {
        let count = data.readableBytes
        guard count > 0 else {
            if endStream { target.write(data, endStream: true) }
            return
        }
        target.write(data, endStream: endStream, consumingOn: source)
    }

    // MARK: Response: upstream → downstream

    private func responseHeaders(_ headers: [HTTP2Header], endStream: Bool, from stream: HTTP2Stream) {
        guard !finished else { return }
        if responseStarted {
            // Trailers end the response.
            responseEnded = true
            writeTrailers(headers, to: downstream)
            complete()
            return
        }
        guard let status = headers[first: ":status"], status.utf8.count == 3, let code = Int(status) else {
            stream.reset(.protocolError)
            fail(.badResponse("no valid :status"))
            return
        }
        if code < 200 { return }  // informational: the final answer follows
        responseStarted = true
        do {
            try downstream.respond(headers, endStream: endStream)
        } catch {
            stream.reset(.cancel)
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

    /// Answers the caller with `error` (only before a response began).
    private func fail(_ error: ProxyError) {
        guard !finished, !responseStarted else { return }
        finished = true
        held.removeAll()
        observer?.completed(status: error.status.code, error: error)
        errors.respond(error, grpc: grpc, on: downstream)
        if !requestEnded { downstream.reset(.noError) }
    }
}

@available(*, unavailable)
extension HTTP2StreamForwarder: Sendable {}
