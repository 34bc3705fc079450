public import NIOCore
public import WeftTLS

/// After a TLS handshake, lets `configure` build the pipeline for what the
/// handshake established (the ALPN protocol, the peer's identity), then leaves.
/// Until then nothing has been read above TLS, so draining closes at once.
public final class ApplicationProtocolRouter: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer

    /// Adds the handlers for `info` to `pipeline`, after `router`.
    public typealias Configure = (
        _ info: TLSHandshakeInfo, _ pipeline: ChannelPipeline.SynchronousOperations, _ router: any ChannelHandler
    ) throws -> Void

    private let configure: Configure

    public init(configure: @escaping Configure) {
        self.configure = configure
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            context.close(promise: nil)  // still in the handshake: nothing in flight
            return
        }
        guard case .handshakeCompleted(let info)? = event as? TLSEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        do {
            try configure(info, context.pipeline.syncOperations, self)
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

@available(*, unavailable)
extension ApplicationProtocolRouter: Sendable {}

/// Closes connections whose pipeline reported an error nobody else handled, so a
/// hostile or broken peer never leaves a connection half open.
public final class CloseOnErrorHandler: ChannelInboundHandler, Sendable {
    public typealias InboundIn = Any

    public init() {}

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
