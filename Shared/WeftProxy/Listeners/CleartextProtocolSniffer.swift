public import NIOCore

/// On a cleartext port, tells HTTP/2 with prior knowledge (the connection
/// preface) from HTTP/1.1 by the first bytes, lets `configure` build the matching
/// pipeline after itself, replays the bytes into it and leaves.
///
/// It decides as soon as the bytes stop matching the preface (one byte for any
/// HTTP/1.1 method), so it holds at most 24 bytes.
public final class CleartextProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    public enum Detected: Sendable { case http2, http1 }

    /// Adds the handlers for `detected` to `pipeline`, after `sniffer`.
    public typealias Configure = (
        _ detected: Detected, _ pipeline: ChannelPipeline.SynchronousOperations, _ sniffer: any ChannelHandler
    ) throws -> Void

    static let http2Preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let configure: Configure
    private let deadline: TimeAmount?
    private var buffered: ByteBuffer?
    private var timer: Scheduled<Void>?

    /// - Parameter deadline: at a public edge, the time a new connection has to
    ///   show its protocol; past it the connection is closed. A client that
    ///   connects and says nothing, or trickles a preface, would otherwise hold
    ///   its connection (one of the capped many) forever: the header-read and
    ///   idle deadlines only start once a protocol's handlers are in place.
    public init(deadline: TimeAmount? = nil, configure: @escaping Configure) {
        self.deadline = deadline
        self.configure = configure
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        guard let deadline else { return }
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: deadline) { channel.close(promise: nil) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Draining before the protocol is known: nothing is in flight yet.
        if event is ChannelShouldQuiesceEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffered == nil { buffered = incoming } else { buffered!.writeBuffer(&incoming) }
        guard let bytes = buffered?.readableBytesView else { return }
        let preface = Self.http2Preface
        let compared = min(bytes.count, preface.count)
        let detected: Detected
        if !bytes.prefix(compared).elementsEqual(preface.prefix(compared)) {
            detected = .http1
        } else if bytes.count >= preface.count {
            detected = .http2
        } else {
            return  // a prefix of the preface so far: wait for more
        }
        timer?.cancel()
        timer = nil
        do {
            try configure(detected, context.pipeline.syncOperations, self)
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

@available(*, unavailable)
extension CleartextProtocolSniffer: Sendable {}
