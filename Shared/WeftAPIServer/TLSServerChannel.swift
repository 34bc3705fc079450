public import HummingbirdCore
public import Logging
public import NIOCore
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

extension Channel {
    /// What the TLS handshake on this connection established (the peer's
    /// certificate when it presented one), or nil on a plain connection or
    /// before the handshake completed: asked of the connection's own TLS
    /// handler, on its event loop. (A process-wide table keyed by the
    /// channel's object identity stood here before: an entry that outlived its
    /// connection could have lent an identity to the next channel allocated at
    /// the same address.)
    public func tlsHandshakeInfo() async -> TLSHandshakeInfo? {
        try? await eventLoop.submit { [self] in
            try pipeline.syncOperations.handler(type: TLSHandler.self).handshakeInfo
        }.get()
    }
}
