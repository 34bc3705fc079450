public import NIOCore
public import NIOHTTP1
import NIOPosix

/// One HTTP/1.1 request to a control-plane service (the registry's discovery
/// API, the CA), on a connection of its own that closes after the answer:
/// control-plane calls are few and long (a discovery long-poll blocks for 30 s),
/// so pooling would buy nothing. The answer's body is capped, and the whole
/// exchange has a deadline after which the connection is closed.
public struct ControlPlaneClient: Sendable {
    /// `http://host:port` or `https://host:port`, as the operator gives it.
    public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        /// `https://`: the client must be given a TLS handler (`secure`).
        public var usesTLS: Bool

        /// Parses `http://host:port` or `https://host:port` (a trailing `/` is
        /// allowed; an IPv6 literal comes in brackets).
        public init(url: String) throws(ControlPlaneError) {
            var rest = Substring(url)
            let expected = "expected http://host:port or https://host:port, got \(url.prefix(80))"
            if rest.hasPrefix("https://") {
                usesTLS = true
                rest = rest.dropFirst("https://".count)
            } else if rest.hasPrefix("http://") {
                usesTLS = false
                rest = rest.dropFirst("http://".count)
            } else {
                throw ControlPlaneError(expected)
            }
            if rest.hasSuffix("/") { rest = rest.dropLast() }
            guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
                (1...65535).contains(port), colon > rest.startIndex, !rest[..<colon].contains("/")
            else { throw ControlPlaneError(expected) }
            var host = rest[..<colon]
            if host.hasPrefix("[") {
                guard host.hasSuffix("]"), host.count > 2 else { throw ControlPlaneError(expected) }
                host = host.dropFirst().dropLast()
            } else if host.contains(":") {
                throw ControlPlaneError("\(expected) (IPv6 in brackets)")
            }
            self.host = String(host)
            self.port = port
        }

        public var description: String {
            let scheme = usesTLS ? "https" : "http"
            return host.contains(":") ? "\(scheme)://[\(host)]:\(port)" : "\(scheme)://\(host):\(port)"
        }
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: [UInt8]
    }

    public let endpoint: Endpoint
    public let group: any EventLoopGroup
    public var maximumBodySize = 16 << 20
    /// For `https://`: makes the TLS handler that goes first on each connection
    /// (WeftTLS, verifying the server against the caller's anchors, presenting
    /// the caller's certificate when it has one). Kept a closure so this module
    /// needs no TLS library.
    public var secure: (@Sendable () throws -> any ChannelHandler)?

    public init(
        endpoint: Endpoint, group: any EventLoopGroup, secure: (@Sendable () throws -> any ChannelHandler)? = nil
    ) {
        self.endpoint = endpoint
        self.group = group
        self.secure = secure
    }

    /// Sends one request and collects the answer, failing with a
    /// `ControlPlaneError` that says what went wrong (connect, deadline, size).
    public func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        deadline: TimeAmount
    ) -> EventLoopFuture<Response> {
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: Response.self)
        let (host, port, limit, name) = (endpoint.host, endpoint.port, maximumBodySize, endpoint.description)
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "host", value: host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
        head.headers.add(name: "user-agent", value: "weft")
        head.headers.add(name: "connection", value: "close")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if let body {
            head.headers.add(name: "content-length", value: String(body.count))
        }
        let request = head
        guard endpoint.usesTLS == (secure != nil) else {
            return eventLoop.makeFailedFuture(
                ControlPlaneError(
                    endpoint.usesTLS
                        ? "\(name) is https, but no TLS settings were given" : "\(name) is not https"))
        }
        let secure = self.secure
        let connected = ClientBootstrap(group: eventLoop)
            .connectTimeout(min(deadline, .seconds(5)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let secure { try channel.pipeline.syncOperations.addHandler(try secure()) }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise, limit: limit))
                }
            }
            .connect(host: host, port: port)
        connected.whenFailure { error in
            promise.fail(ControlPlaneError("cannot connect to \(name): \(error)"))
        }
        connected.whenSuccess { channel in
            let timeout = channel.eventLoop.scheduleTask(in: deadline) {
                promise.fail(ControlPlaneError("\(name) did not answer within \(deadline)"))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in
                timeout.cancel()
                channel.close(promise: nil)
            }
            channel.write(HTTPClientRequestPart.head(request), promise: nil)
            if let body {
                channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
            }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        return promise.futureResult
    }
}

/// What went wrong talking to a control-plane service, in words for a log.
public struct ControlPlaneError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Collects one response, completing the promise at its end (or when the
/// connection closes first).
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<ControlPlaneClient.Response>
    private let limit: Int
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []

    init(promise: EventLoopPromise<ControlPlaneClient.Response>, limit: Int) {
        self.promise = promise
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head) where head.status.code >= 200:
            self.head = head
        case .head:
            break
        case .body(let chunk):
            guard body.count + chunk.readableBytes <= limit else {
                promise.fail(ControlPlaneError("the answer is larger than \(limit) bytes"))
                context.close(promise: nil)
                return
            }
            body += chunk.readableBytesView
        case .end:
            guard let head else { return }
            promise.succeed(.init(status: Int(head.status.code), headers: head.headers, body: body))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(ControlPlaneError("the answer is not valid HTTP/1.1: \(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ControlPlaneError("the connection closed before the answer ended"))
        context.fireChannelInactive()
    }
}
