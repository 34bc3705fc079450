import NIOCore
import NIOHTTP1
import WeftHTTP2
import WeftTLS

/// Builds a connection's pipeline once its protocol is known.
enum EchoPipeline {
    static let http2Preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    static func addHTTP2(
        to pipeline: ChannelPipeline.SynchronousOperations, after handler: any ChannelHandler, eventLoop: any EventLoop,
        peerIdentity: String?
    ) throws {
        let http2 = try HTTP2ConnectionHandler { _ in EchoHTTP2Stream(eventLoop: eventLoop, peerIdentity: peerIdentity)
        }
        try pipeline.addHandler(http2, position: .after(handler))
    }

    static func addHTTP1(
        to pipeline: ChannelPipeline.SynchronousOperations, after handler: any ChannelHandler, peerIdentity: String?
    ) throws {
        try pipeline.configureHTTPServerPipeline(
            position: .after(handler), withPipeliningAssistance: true, withErrorHandling: true)
        try pipeline.addHandler(EchoHTTP1Handler(peerIdentity: peerIdentity))
    }
}

/// On a cleartext port, tells HTTP/2 prior knowledge (the connection preface)
/// from HTTP/1.1 by the first bytes, builds the matching pipeline, replays the
/// bytes into it and leaves.
final class CleartextProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private var buffered: ByteBuffer?

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Draining before the protocol is known: nothing is in flight yet.
        if event is ChannelShouldQuiesceEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffered == nil { buffered = incoming } else { buffered!.writeBuffer(&incoming) }
        guard let bytes = buffered?.readableBytesView else { return }
        let preface = EchoPipeline.http2Preface
        let compared = min(bytes.count, preface.count)
        let isHTTP2: Bool
        if !bytes.prefix(compared).elementsEqual(preface.prefix(compared)) {
            isHTTP2 = false
        } else if bytes.count >= preface.count {
            isHTTP2 = true
        } else {
            return  // a prefix of the preface so far: wait for more
        }
        do {
            let pipeline = context.pipeline.syncOperations
            if isHTTP2 {
                try EchoPipeline.addHTTP2(to: pipeline, after: self, eventLoop: context.eventLoop, peerIdentity: nil)
            } else {
                try EchoPipeline.addHTTP1(to: pipeline, after: self, peerIdentity: nil)
            }
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return
        }
        let replay = buffered!
        buffered = nil
        context.fireChannelRead(wrapInboundOut(replay))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

/// After a TLS handshake, builds the pipeline ALPN chose (`h2`, else HTTP/1.1).
final class ApplicationProtocolRouter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            context.close(promise: nil)  // still in the handshake: nothing in flight
            return
        }
        guard case .handshakeCompleted(let info)? = event as? TLSEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        do {
            let pipeline = context.pipeline.syncOperations
            if info.applicationProtocol == "h2" {
                try EchoPipeline.addHTTP2(
                    to: pipeline, after: self, eventLoop: context.eventLoop, peerIdentity: info.peerIdentity)
            } else {
                try EchoPipeline.addHTTP1(to: pipeline, after: self, peerIdentity: info.peerIdentity)
            }
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

/// Closes connections whose pipeline reported an error nobody else handled, so a
/// hostile or broken peer never leaves a connection half open.
final class CloseOnErrorHandler: ChannelInboundHandler {
    typealias InboundIn = Any

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
