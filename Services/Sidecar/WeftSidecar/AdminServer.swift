import NIOCore
import NIOHTTP1
import NIOPosix
import WeftProxy

/// The sidecar's admin port, plain HTTP/1.1 for probes and scrapers:
///
/// - `GET /live`: 200 while the process serves.
/// - `GET /ready`: 200 when the sidecar can carry traffic (its listeners are up
///   and its certificate valid); 503 with the reason otherwise.
/// - `GET /metrics`: Prometheus text, the counters of every event loop summed.
///
/// Bind it to loopback or a pod-internal address: it is not authenticated.
public final class AdminServer: Sendable {
    let channel: any Channel

    public var port: Int { channel.localAddress?.port ?? 0 }

    private init(channel: any Channel) {
        self.channel = channel
    }

    static func start(
        host: String, port: Int, group: any EventLoopGroup, loops: ProxyLoops, certificateExpiry: Int64
    ) -> EventLoopFuture<AdminServer> {
        ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        AdminHandler(loops: loops, certificateExpiry: certificateExpiry))
                }
            }
            .bind(host: host, port: port)
            .map { AdminServer(channel: $0) }
    }

    func close() throws {
        try channel.close().wait()
    }
}

final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let loops: ProxyLoops
    private let certificateExpiry: Int64
    private var head: HTTPRequestHead?

    init(loops: ProxyLoops, certificateExpiry: Int64) {
        self.loops = loops
        self.certificateExpiry = certificateExpiry
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            route(head, context: context)
        }
    }

    private func route(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard head.method == .GET || head.method == .HEAD else {
            respond(context, head, .methodNotAllowed, "only GET\n", extra: [("allow", "GET, HEAD")])
            return
        }
        switch head.uri.split(separator: "?").first.map(String.init) ?? head.uri {
        case "/live":
            respond(context, head, .ok, "live\n")
        case "/ready":
            let remaining = certificateExpiry - Self.unixTime()
            if remaining <= 0 {
                respond(context, head, .serviceUnavailable, "not ready: the mesh certificate has expired\n")
            } else {
                respond(
                    context, head, .ok,
                    "ready: snapshot version \(loops.snapshot.version), certificate valid for \(remaining)s\n")
            }
        case "/metrics":
            let expiry = certificateExpiry
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            loops.metrics().hop(to: context.eventLoop).whenSuccess { totals in
                var text = totals.exposition(prefix: "weft_sidecar")
                text += "# HELP weft_sidecar_certificate_expiry_seconds Seconds until the mesh certificate expires.\n"
                text += "# TYPE weft_sidecar_certificate_expiry_seconds gauge\n"
                text += "weft_sidecar_certificate_expiry_seconds \(expiry - Self.unixTime())\n"
                let (handler, context) = loopBound.value
                handler.respond(
                    context, head, .ok, text, extra: [("content-type", "text/plain; version=0.0.4")])
            }
        default:
            respond(context, head, .notFound, "not found; try /live, /ready or /metrics\n")
        }
    }

    static func unixTime() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec)
    }

    private func respond(
        _ context: ChannelHandlerContext, _ request: HTTPRequestHead, _ status: HTTPResponseStatus, _ body: String,
        extra: [(String, String)] = []
    ) {
        var headers = HTTPHeaders(extra)
        if !headers.contains(name: "content-type") { headers.add(name: "content-type", value: "text/plain") }
        headers.add(name: "content-length", value: String(body.utf8.count))
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))),
            promise: nil)
        if request.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

#if canImport(Glibc)
    import Glibc
#endif

@available(*, unavailable)
extension AdminHandler: Sendable {}
