public import Hummingbird
public import NIOCore

/// The request context of Weft's APIs: Hummingbird's core context plus the
/// connection, whose TLS handshake (`channel.tlsHandshakeInfo()`) says which
/// certificate the caller presented: the CA's renewals and the registry's
/// mesh listener read it.
public struct ChannelRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        channel = source.channel
    }
}
