public import NIOCore
import NIOPosix
public import WeftHTTP2
public import WeftTLS

/// Dials the mesh: TCP to a peer sidecar's mesh port, TLS 1.3 with our
/// certificate, ALPN `h2`, and the peer's SPIFFE ID checked against the identity
/// its service must have; then an HTTP/2 client connection. The channel is handed
/// over only once the handshake has completed, so a peer that is unreachable, not
/// a Weft workload or the wrong service fails the dial with the TLS layer's own
/// reason, and no request was sent.
public struct MeshConnector: Sendable {
    public let tls: TLSContextProvider
    public var connectTimeout: TimeAmount = .seconds(2)
    public var http2: HTTP2Configuration

    public init(tls: TLSContextProvider, http2: HTTP2Configuration = HTTP2Configuration()) {
        self.tls = tls
        self.http2 = http2
    }

    /// Connects to `host`:`port` on `eventLoop`, expecting `identity`.
    public func connect(host: String, port: Int, identity: String, on eventLoop: any EventLoop)
        -> EventLoopFuture<any Channel>
    {
        let handshake = eventLoop.makePromise(of: Void.self)
        let context = tls.current
        let http2 = self.http2
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(try TLSHandler(context: context, expectedPeerIdentity: identity))
                    try pipeline.addHandler(HandshakeWaiter(handshake))
                    try pipeline.addHandler(try HTTP2ConnectionHandler(clientConfiguration: http2))
                    try pipeline.addHandler(CloseOnErrorHandler())
                }
            }
            .connect(endpoint: host, port: port)
            .flatMapError { error in
                handshake.fail(error)
                return eventLoop.makeFailedFuture(error)
            }
            .flatMap { channel in handshake.futureResult.map { channel } }
    }
}

/// Completes a promise when the TLS handshake completes (or fails with its error),
/// then leaves the pipeline.
final class HandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private var promise: EventLoopPromise<Void>?

    init(_ promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSEvent {
            promise?.succeed()
            promise = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise?.fail(error)
        promise = nil
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise?.fail(TLSError(.closed, "the peer closed the connection during the TLS handshake"))
        promise = nil
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension HandshakeWaiter: Sendable {}
