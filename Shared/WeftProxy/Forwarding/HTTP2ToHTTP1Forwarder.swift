public import NIOCore
public import NIOHTTP1
public import WeftHTTP2

/// Carries one HTTP/2 request (from the mesh) to a local application that speaks
/// HTTP/1.1, over a keep-alive connection from an `HTTP1ConnectionPool`, and the
/// response back.
///
/// - The request head is translated by `HTTPMessageTranslation`; a body without a
///   length goes chunked, and trailers go in the chunked body's trailer section.
/// - Flow control is linked: request bytes are consumed on the HTTP/2 stream only
///   once written to the application's socket; the application's socket is read
///   only while what it sent has been framed on the stream.
/// - A failure before the response began is answered through
///   `ProxyErrorResponse`; after, the stream is reset. A connection is reused only
///   after a complete exchange both sides kept alive.
/// - The request's deadline (`x-weft-deadline-ms`, `grpc-timeout`: what the
///   caller's side left of it) holds here too: no response head by then is 504,
///   and the application's connection, mid-exchange, is closed.
public final class HTTP2ToHTTP1Forwarder: HTTP2StreamHandler, HTTP1ClientConnection.Receiver, DeadlineOwner {
    /// Checks and rewrites the request headers before they go to the application
    /// (authorization, identity, forwarding headers), or refuses the request.
    public typealias Prepare = (_ headers: [HTTP2Header]) -> Result<[HTTP2Header], ProxyError>
    /// Takes over a stream whose request is `CONNECT`, returning the handler that
    /// now owns it; nil leaves the request to the forwarder (which then answers
    /// it as usual, a refusal included).
    public typealias TakeOver = HTTP2StreamForwarder.TakeOver

    private let downstream: HTTP2Stream
    private let eventLoop: any EventLoop
    private let pool: HTTP1ConnectionPool
    private let errors: ProxyErrorResponse
    /// Who takes a CONNECT stream over (the inbound side's tunnels to the
    /// application), and the handler that did: every later event goes to it.
    private let takeOver: TakeOver?
    private var replacement: (any HTTP2StreamHandler)?
    private var observer: RequestObserver?
    private let prepare: Prepare
    private var connection: HTTP1ClientConnection?
    private var acquiring = false
    private var grpc = false
    private var held: [ByteBuffer] = []
    private var heldTrailers: [HTTP2Header]?
    private var requestEnded = false
    private var requestWritten = false
    private var responseStarted = false
    private var responseEnded = false
    private var finished = false
    /// Response writes not yet framed on the stream; the socket is read again at 0.
    private var outstanding = 0
    /// Where the request's deadline is kept (nil: not held to one).
    private let timers: LoopTimers?
    private var deadlineLength = TimeAmount.zero
    public var timerIndex = -1

    public init(
        downstream: HTTP2Stream, eventLoop: any EventLoop, pool: HTTP1ConnectionPool, errors: ProxyErrorResponse,
        observer: RequestObserver? = nil, takeOver: TakeOver? = nil, timers: LoopTimers? = nil,
        prepare: @escaping Prepare
    ) {
        self.timers = timers
        self.takeOver = takeOver
        self.downstream = downstream
        self.eventLoop = eventLoop
        self.pool = pool
        self.errors = errors
        self.observer = observer
        self.prepare = prepare
    }

    // MARK: Request: stream → application

    public func headersReceived(_ headers: [HTTP2Header], endStream: Bool, stream: HTTP2Stream) {
        if let replacement {
            replacement.headersReceived(headers, endStream: endStream, stream: stream)
            return
        }
        if !acquiring, connection == nil, !finished, let takeOver, headers[first: ":method"] == "CONNECT",
            let handler = takeOver(headers, endStream, stream)
        {
            replacement = handler
            return
        }
        guard !finished else { return }
        if acquiring || connection != nil {
            requestEnded = true
            if let connection { endRequest(headers, on: connection) } else { heldTrailers = headers }
            return
        }
        requestEnded = endStream
        observer?.requestBegan(headers)
        grpc = ProxyErrorResponse.isGRPC(contentType: headers[first: "content-type"])
        let prepared: [HTTP2Header]
        switch prepare(headers) {
        case .success(var rewritten):
            observer?.forwarded(route: nil, upstream: "application", headers: &rewritten)
            prepared = rewritten
        case .failure(let error):
            fail(error)
            return
        }
        if let timers, let left = Deadline.requested(in: prepared) {
            deadlineLength = left
            timers.add(self, at: .now() + left)
        }
        var head: HTTPRequestHead
        do {
            head = try HTTPMessageTranslation.http1RequestHead(for: prepared)
        } catch {
            fail(.badRequest(error.reason))
            return
        }
        head.headers.remove(name: "transfer-encoding")
        if endStream {
            if ![.GET, .HEAD, .DELETE, .OPTIONS, .TRACE, .CONNECT].contains(head.method) {
                head.headers.replaceOrAdd(name: "content-length", value: "0")
            }
        } else if !head.headers.contains(name: "content-length") {
            head.headers.add(name: "transfer-encoding", value: "chunked")
        }
        acquiring = true
        pool.acquire().assumeIsolated().whenComplete { [self] result in
            acquiring = false
            switch result {
            case .success(let connection):
                guard !finished else {
                    pool.release(connection, reusable: true)
                    return
                }
                self.connection = connection
                connection.receiver = self
                connection.write(.head(head), promise: nil)
                let chunks = held
                held.removeAll()
                for chunk in chunks { forward(chunk, on: connection) }
                if let trailers = heldTrailers {
                    endRequest(trailers, on: connection)
                } else if requestEnded {
                    endRequest(nil, on: connection)
                }
                connection.read()
            case .failure(let error):
                let failure = error as? HTTP1ConnectionPool.Failure
                fail(
                    failure == .exhausted
                        ? .overloaded("the local application")
                        : .applicationUnavailable("\(failure.map { "\($0)" } ?? "\(error)")"))
            }
        }
    }

    public func dataReceived(_ data: ByteBuffer, endStream: Bool, stream: HTTP2Stream) {
        if let replacement {
            replacement.dataReceived(data, endStream: endStream, stream: stream)
            return
        }
        guard !finished else {
            stream.consume(data.readableBytes)
            return
        }
        if endStream { requestEnded = true }
        guard let connection else {
            if data.readableBytes > 0 { held.append(data) }
            return
        }
        forward(data, on: connection)
        if endStream { endRequest(nil, on: connection) }
    }

    private func forward(_ data: ByteBuffer, on connection: HTTP1ClientConnection) {
        let count = data.readableBytes
        guard count > 0 else { return }
        let written = eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenSuccess { [downstream] in downstream.consume(count) }
        connection.write(.body(.byteBuffer(data)), promise: written)
    }

    private func endRequest(_ trailers: [HTTP2Header]?, on connection: HTTP1ClientConnection) {
        guard !requestWritten else { return }
        requestWritten = true
        var fields: HTTPHeaders?
        if let trailers, !trailers.isEmpty {
            var headers = HTTPHeaders()
            for field in trailers where !field.name.hasPrefix(":") { headers.add(name: field.name, value: field.value) }
            fields = headers
        }
        connection.write(.end(fields), promise: nil)
    }

    public func streamClosed(_ stream: HTTP2Stream, errorCode: HTTP2ErrorCode) {
        if let replacement {
            replacement.streamClosed(stream, errorCode: errorCode)
            return
        }
        guard !finished else { return }
        finished = true
        stopTimer()
        // The caller went away mid-exchange: the connection is mid-message.
        if let connection {
            self.connection = nil
            connection.receiver = nil
            pool.release(connection, reusable: false)
        }
    }

    // MARK: Response: application → stream

    public func received(_ part: HTTPClientResponsePart) {
        guard !finished else { return }
        switch part {
        case .head(let head):
            if head.status.code < 200 {
                connection?.read()
                return
            }
            responseStarted = true
            stopTimer()
            do {
                try downstream.respond(HTTPMessageTranslation.http2ResponseHeaders(for: head), endStream: false)
            } catch {
                abandon()
                return
            }
            observer?.responseBegan(status: Int(head.status.code))
            keepAlive = head.isKeepAlive
            readIfDrained()
        case .body(let chunk):
            outstanding += 1
            let written = eventLoop.makePromise(of: Void.self)
            written.futureResult.assumeIsolated().whenComplete { [self] _ in
                outstanding -= 1
                readIfDrained()
            }
            downstream.write(chunk, promise: written)
        case .end(let trailers):
            // The exchange is over and the connection goes back to the pool first:
            // ending the stream below closes it at once, and `streamClosed` must
            // not find an exchange still holding a connection (it would throw a
            // perfectly reusable connection away, one per request).
            responseEnded = true
            finished = true
            if let connection {
                self.connection = nil
                connection.receiver = nil
                pool.release(connection, reusable: keepAlive && requestWritten)
            }
            observer?.completed()
            if let trailers, !trailers.isEmpty {
                do {
                    try downstream.writeTrailers(HTTPMessageTranslation.regularHeaders(trailers))
                } catch {
                    downstream.reset(.internalError)
                }
            } else {
                downstream.write(ByteBuffer(), endStream: true)
            }
            if !requestEnded { downstream.reset(.noError) }
        }
    }

    private var keepAlive = true

    private func stopTimer() {
        if timerIndex >= 0 { timers?.remove(self) }
    }

    public func deadlinePassed() {
        fail(
            .deadlineExceeded(
                "the local application did not answer within the request's deadline (\(deadlineLength.nanoseconds / 1_000_000) ms)"
            ))
    }

    deinit {
        // Never left in the heap, which holds its owners unowned.
        stopTimer()
    }

    private func readIfDrained() {
        if outstanding == 0 { connection?.read() }
    }

    public func connectionClosed() {
        connection = nil
        guard !finished else { return }
        if !responseStarted {
            fail(.applicationUnavailable("it closed the connection before answering"))
        } else {
            finished = true
            observer?.completed(status: 502)
            downstream.reset(.internalError)
        }
    }

    /// The stream could not take the response: stop the exchange.
    private func abandon() {
        finished = true
        stopTimer()
        downstream.reset(.internalError)
        if let connection {
            self.connection = nil
            connection.receiver = nil
            pool.release(connection, reusable: false)
        }
    }

    private func fail(_ error: ProxyError) {
        guard !finished, !responseStarted else { return }
        finished = true
        stopTimer()
        held.removeAll()
        observer?.completed(status: error.status.code, error: error)
        errors.respond(error, grpc: grpc, on: downstream, stoppingRequestOn: requestEnded ? nil : eventLoop)
        if let connection {
            self.connection = nil
            connection.receiver = nil
            pool.release(connection, reusable: false)
        }
    }
}

@available(*, unavailable)
extension HTTP2ToHTTP1Forwarder: Sendable {}
