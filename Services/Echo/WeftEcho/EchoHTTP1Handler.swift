import NIOCore
import NIOHTTP1
import WeftHTTP2

/// Echoes HTTP/1.1 requests, in the same two modes as `EchoHTTP2Stream`.
///
/// Streaming honours backpressure: while the connection cannot take more writes
/// (a caller reading the echo slowly), nothing more is read, so the caller's
/// upload waits in its socket rather than in this process's memory.
final class EchoHTTP1Handler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var readPending = false

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            context.read()
        } else {
            readPending = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && readPending {
            readPending = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var streaming = false
    private var tooLarge = false
    private let peerIdentity: String?

    private let behaviour: EchoBehaviour

    init(peerIdentity: String?, behaviour: EchoBehaviour = EchoBehaviour()) {
        self.peerIdentity = peerIdentity
        self.behaviour = behaviour
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
            body = []
            tooLarge = false
            streaming = request.headers.first(name: "x-echo-stream") == "1"
            if streaming {
                var headers = HTTPHeaders()
                headers.add(name: "content-type", value: "application/octet-stream")
                headers.add(name: "x-echo-method", value: request.method.rawValue)
                headers.add(name: "x-echo-path", value: request.uri)
                context.writeAndFlush(
                    wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: .ok, headers: headers))),
                    promise: nil)
            }
        case .body(let chunk):
            if streaming {
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
            } else if body.count + chunk.readableBytes > EchoReport.maximumBody {
                tooLarge = true
            } else if !tooLarge {
                body += chunk.readableBytesView
            }
        case .end(let trailers):
            guard let request = head else { return }
            head = nil
            if streaming {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            var headers = HTTPHeaders()
            if tooLarge {
                headers.add(name: "content-length", value: "0")
                context.write(
                    wrapOutboundOut(
                        .head(HTTPResponseHead(version: request.version, status: .payloadTooLarge, headers: headers))),
                    promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            let json = EchoReport(
                method: request.method.rawValue, path: request.uri, authority: request.headers.first(name: "host"),
                protocol: "http/1.1", headers: request.headers.map { HTTP2Header($0.name, $0.value) }, body: body,
                trailers: trailers?.map { HTTP2Header($0.name, $0.value) } ?? [], peerIdentity: peerIdentity
            ).json(allocator: context.channel.allocator)
            headers.add(name: "content-type", value: "application/json")
            if let name = behaviour.name { headers.add(name: "x-echo-name", value: name) }
            headers.add(name: "content-length", value: String(json.readableBytes))
            let head = HTTPResponseHead(
                version: request.version, status: HTTPResponseStatus(statusCode: behaviour.status), headers: headers)
            let send = { [self] in
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(json))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
            if let delay = behaviour.delay {
                context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
                    if context.channel.isActive { send() }
                }
            } else {
                send()
            }
        }
    }
}
