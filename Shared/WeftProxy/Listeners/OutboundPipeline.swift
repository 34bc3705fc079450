public import NIOCore
import NIOHTTP1
import WeftHTTP2

/// The outbound pipeline: an application's plain requests into the mesh.
///
/// The application connects to a loopback port: one per declared upstream
/// (`--upstream cart=127.0.0.1:9001`, every request goes to `cart`), or the HTTP
/// proxy port, where `Host`/`:authority` names the upstream (`cart`,
/// `cart.shop`, `cart.shop.mesh`). Each request becomes a stream on a pooled
/// mutual-TLS HTTP/2 connection to one of the upstream's endpoints.
public enum OutboundPipeline {
    /// Where the requests of a port go.
    public enum Target: Sendable {
        /// Every request to this upstream, whatever its authority.
        case upstream(String)
        /// The upstream the request's authority names.
        case byAuthority
    }

    /// Builds the pipeline of one accepted application connection.
    public static func configure(
        _ channel: any Channel, target: Target, loops: ProxyLoops, errors: ProxyErrorResponse
    ) throws {
        let loop = loops.loop(channel.eventLoop)
        let dispatch = Self.dispatch(target: target, loop: loop)
        let openTunnel = Self.openTunnel(target: target, loop: loop)
        let makeObserver = { RequestObserver(loop: loop, direction: .outbound) }
        let pipeline = channel.pipeline.syncOperations
        // 0. A port for an upstream that speaks TCP carries raw bytes: each
        //    connection becomes one CONNECT stream to that service's sidecar
        //    (Consul's TCP upstreams: a database client needs no proxy support).
        if case .upstream(let name) = target, loop.snapshot.upstream(named: name)?.protocolKind == .tcp {
            // CONNECT needs host:port; the destination's sidecar dials its own
            // application whatever the port, so the port the app dialled goes.
            let authority = "\(name):\(channel.localAddress?.port ?? 1)"
            try pipeline.addHandler(
                RawTCPUpstream { handler in
                    openTunnel(HTTP2Tunnel.requestHeaders(authority: authority), false, handler)
                })
            return
        }
        // 1–4. Sniff h2c or HTTP/1.1; HTTP/1.1 through the parser's refusals to
        //      the bridge (with CONNECT tunnels), h2c stream by stream to the mesh.
        try CleartextRequestPipeline.configure(
            channel, scheme: "http", errors: errors, makeObserver: makeObserver,
            openTunnel: openTunnel, dispatch: dispatch)
    }

    /// Resolves the upstream on the loop's current snapshot and plans the request
    /// (`MeshRequestPlanner`: service routes, faults, deadline, retries).
    static func dispatch(target: Target, loop: ProxyLoop) -> HTTP2StreamForwarder.Dispatch {
        { headers, endStream in
            switch resolve(target, headers: headers, loop: loop) {
            case .success(let upstream):
                return MeshRequestPlanner.outbound(headers, endStream: endStream, upstream: upstream, loop: loop)
            case .failure(let error):
                return .failure(error)
            }
        }
    }

    /// Opens a CONNECT tunnel's stream to the upstream (not retried: a tunnel's
    /// bytes cannot be replayed).
    static func openTunnel(target: Target, loop: ProxyLoop) -> HTTP1ToHTTP2Bridge.StreamOpener {
        { headers, endStream, handler in
            switch resolve(target, headers: headers, loop: loop) {
            case .success(let upstream):
                return loop.openMeshStream(to: upstream, headers, endStream: endStream, handler: handler)
            case .failure(let error):
                return loop.eventLoop.makeFailedFuture(error)
            }
        }
    }

    private static func resolve(_ target: Target, headers: [HTTP2Header], loop: ProxyLoop)
        -> Result<ProxySnapshot.Upstream, ProxyError>
    {
        let snapshot = loop.snapshot
        let upstream: ProxySnapshot.Upstream?
        let name: String
        switch target {
        case .upstream(let fixed):
            name = fixed
            upstream = snapshot.upstream(named: fixed)
        case .byAuthority:
            let authority = headers[first: ":authority"] ?? ""
            name = authority
            upstream = snapshot.upstream(forAuthority: Substring(authority))
        }
        guard let upstream else { return .failure(.unknownUpstream(String(name.prefix(255)))) }
        return .success(upstream)
    }
}

/// The application's connection to a TCP upstream's port: once active, it is
/// handed to an `HTTP2Tunnel` whose CONNECT stream `open` starts; the channel's
/// bytes wait until the destination's sidecar has answered 2xx. A stream that
/// cannot be opened (no endpoint, refused, denied) closes the connection: raw TCP
/// has no way to say why, so the reason is in the caller's metrics and the
/// destination's log.
final class RawTCPUpstream: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let open: (any HTTP2StreamHandler) -> EventLoopFuture<HTTP2Stream>
    private var started = false

    init(open: @escaping (any HTTP2StreamHandler) -> EventLoopFuture<HTTP2Stream>) {
        self.open = open
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        let channel = context.channel
        do {
            let tunnel = try HTTP2Tunnel.connecting(channel: channel)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            open(tunnel).assumeIsolated().whenFailure { _ in channel.close(promise: nil) }
        } catch {
            channel.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension RawTCPUpstream: Sendable {}
