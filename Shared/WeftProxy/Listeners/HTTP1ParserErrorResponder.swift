public import NIOCore
public import NIOHTTP1

/// Answers a request NIO's HTTP/1.1 parser refused, then closes the connection:
/// 431 when the header section is too large, 400 for everything else (the
/// request smuggling shapes among them: Content-Length with Transfer-Encoding,
/// two lengths, bad chunk sizes, obs-fold, bare CR or LF), each through
/// `ProxyErrorResponse` like every other error the proxy answers. After a parse
/// error nothing more on the connection can be trusted, so it always closes. If
/// a response has already begun, it is cut rather than followed by a second one.
///
/// Sits right after the HTTP/1.1 codec (and the pipelining handler), in place of
/// NIO's `HTTPServerProtocolErrorHandler`, which can only say 400.
public final class HTTP1ParserErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPServerRequestPart
    public typealias InboundOut = HTTPServerRequestPart
    public typealias OutboundIn = HTTPServerResponsePart
    public typealias OutboundOut = HTTPServerResponsePart

    private let errors: ProxyErrorResponse
    private var responseInProgress = false
    private var failed = false

    public init(errors: ProxyErrorResponse) {
        self.errors = errors
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Parts that follow a parse error are not forwarded.
        guard !failed else { return }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200: responseInProgress = true
        case .end: responseInProgress = false
        default: break
        }
        context.write(data, promise: promise)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !failed else { return }
        failed = true
        guard !responseInProgress else {
            context.close(promise: nil)
            return
        }
        let (head, body) = errors.http1(Self.proxyError(parserError), version: .http1_1, close: true)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    static func proxyError(_ error: HTTPParserError) -> ProxyError {
        switch error {
        case .headerOverflow:
            return .headersTooLarge("the request's header section exceeds what this proxy accepts")
        default:
            return .badRequest("the request is not valid HTTP/1.1 (\(error))")
        }
    }
}

@available(*, unavailable)
extension HTTP1ParserErrorResponder: Sendable {}
