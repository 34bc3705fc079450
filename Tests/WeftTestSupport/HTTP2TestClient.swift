public import NIOConcurrencyHelpers
public import NIOCore
public import NIOPosix
public import WeftHTTP2
public import WeftTLS

/// An HTTP/2 client for tests, on WeftHTTP2's client role: connect, send a
/// request, collect what comes back.
public enum HTTP2TestClient {
    public static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    public struct Response: Sendable {
        public var headers: [HTTP2Header] = []
        public var trailers: [HTTP2Header] = []
        public var body: [UInt8] = []
        public var closedWith: HTTP2ErrorCode = .noError
        public var status: String? { headers[first: ":status"] }
        public var text: String { String(decoding: body, as: UTF8.self) }
        public init() {}
    }

    /// Collects one response, consuming body bytes as they arrive (without that,
    /// the server could send no more than the initial window).
    public final class Collector: HTTP2StreamHandler {
        public var response = Response()
        public let promise: EventLoopPromise<Response>
        public init(promise: EventLoopPromise<Response>) { self.promise = promise }

        public func headersReceived(_ headers: [HTTP2Header], endStream: Bool, stream: HTTP2Stream) {
            if response.headers.isEmpty { response.headers = headers } else { response.trailers = headers }
        }

        public func dataReceived(_ data: ByteBuffer, endStream: Bool, stream: HTTP2Stream) {
            response.body += data.readableBytesView
            stream.consume(data.readableBytes)
        }

        public func streamClosed(_ stream: HTTP2Stream, errorCode: HTTP2ErrorCode) {
            response.closedWith = errorCode
            promise.succeed(response)
        }
    }

    /// What a client saw on a stream, readable from any thread while it runs.
    public struct Seen: Sendable {
        public var status: String?
        public var body: [UInt8] = []
        public var closedWith: HTTP2ErrorCode?
        public init() {}
    }

    /// A stream handler that records everything and consumes what it reads.
    public final class Recorder: HTTP2StreamHandler, Sendable {
        public let seen: NIOLockedValueBox<Seen>
        public let closed: EventLoopPromise<Seen>

        public init(closed: EventLoopPromise<Seen>) {
            self.seen = NIOLockedValueBox(Seen())
            self.closed = closed
        }

        public func headersReceived(_ headers: [HTTP2Header], endStream: Bool, stream: HTTP2Stream) {
            seen.withLockedValue { $0.status = $0.status ?? headers[first: ":status"] }
        }

        public func dataReceived(_ data: ByteBuffer, endStream: Bool, stream: HTTP2Stream) {
            seen.withLockedValue { $0.body += data.readableBytesView }
            stream.consume(data.readableBytes)
        }

        public func streamClosed(_ stream: HTTP2Stream, errorCode: HTTP2ErrorCode) {
            let result = seen.withLockedValue { seen in
                seen.closedWith = errorCode
                return seen
            }
            closed.succeed(result)
        }
    }

    /// Connects an HTTP/2 client (over TLS when a context is given), with Nagle off.
    public static func connect(
        port: Int, tls: TLSContext? = nil, expectedPeerIdentity: String? = nil, group: any EventLoopGroup = group
    ) throws -> (any Channel, NIOLoopBound<HTTP2ConnectionHandler>) {
        let channel = try ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            try TLSHandler(context: tls, expectedPeerIdentity: expectedPeerIdentity))
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        try HTTP2ConnectionHandler(clientConfiguration: HTTP2Configuration()))
                }
            }
            .connect(host: "127.0.0.1", port: port).wait()
        let handler = try channel.eventLoop.submit {
            NIOLoopBound(
                try channel.pipeline.syncOperations.handler(type: HTTP2ConnectionHandler.self),
                eventLoop: channel.eventLoop)
        }.wait()
        return (channel, handler)
    }

    /// Sends one request and waits for its whole response.
    public static func request(
        _ handler: NIOLoopBound<HTTP2ConnectionHandler>, on channel: any Channel, method: String = "GET", path: String,
        authority: String = "127.0.0.1", scheme: String = "http", headers extra: [HTTP2Header] = [],
        body: String? = nil, trailers: [HTTP2Header]? = nil
    ) throws -> Response {
        try channel.eventLoop.flatSubmit {
            let collector = Collector(promise: channel.eventLoop.makePromise())
            let headers =
                [
                    HTTP2Header(":method", method), HTTP2Header(":scheme", scheme),
                    HTTP2Header(":authority", authority), HTTP2Header(":path", path),
                ] + extra
            do {
                let hasBody = body != nil || trailers != nil
                let stream = try handler.value.openStream(headers, endStream: !hasBody, handler: collector)
                if let body { stream.write(ByteBuffer(string: body), endStream: trailers == nil) }
                if let trailers { try stream.writeTrailers(trailers) }
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
            return collector.promise.futureResult
        }.wait()
    }

    /// A loopback port nothing listens on (bound, then released).
    public static func freePort() throws -> Int {
        let channel = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        let port = channel.localAddress!.port!
        try channel.close().wait()
        return port
    }
}
