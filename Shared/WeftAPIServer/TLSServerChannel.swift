public import HummingbirdCore
public import Logging
public import NIOCore
import Synchronization
public import WeftTLS

/// Puts WeftTLS (OpenSSL) under a Hummingbird child channel, so admin APIs speak
/// TLS with the same stack as the data plane instead of a second one. Each new
/// connection takes the provider's current context: a renewed serving
/// certificate or a changed trust bundle applies to the next connection, and
/// connections already open keep theirs.
public struct TLSServerChannel<Base: ServerChildChannel>: ServerChildChannel {
    public typealias Value = Base.Value

    let base: Base
    let contexts: TLSContextProvider

    public init(_ base: Base, contexts: TLSContextProvider) {
        self.base = base
        self.contexts = contexts
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(try contexts.makeHandler())
            try channel.pipeline.syncOperations.addHandler(HandshakeRecorder())
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    public func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension TLSServerChannel: HTTPChannelHandler where Base: HTTPChannelHandler {
    public var responder: HTTPChannelHandler.Responder { base.responder }
}

/// What each open TLS connection's handshake established, readable from any
/// thread without a hop to the connection's event loop (a request handler asks
/// once per call). Entries are added when a handshake completes and removed
/// when the connection closes.
final class HandshakeRecorder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    static let established = Mutex<[ObjectIdentifier: TLSHandshakeInfo]>([:])

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted(let info)? = event as? TLSEvent {
            let key = ObjectIdentifier(context.channel)
            Self.established.withLock { $0[key] = info }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let key = ObjectIdentifier(context.channel)
        _ = Self.established.withLock { $0.removeValue(forKey: key) }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        let key = ObjectIdentifier(context.channel)
        _ = Self.established.withLock { $0.removeValue(forKey: key) }
    }
}

extension Channel {
    /// What the TLS handshake on this connection established (the peer's
    /// certificate when it presented one), or nil on a plain connection or
    /// before the handshake completed.
    public var tlsHandshakeInfo: TLSHandshakeInfo? {
        HandshakeRecorder.established.withLock { $0[ObjectIdentifier(self)] }
    }
}
