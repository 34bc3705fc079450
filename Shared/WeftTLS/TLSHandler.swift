public import NIOCore

/// What a completed handshake established, announced as a user inbound event
/// (`TLSEvent.handshakeCompleted`) and kept on the handler.
public struct TLSHandshakeInfo: Sendable {
    public var applicationProtocol: String?
    /// The peer's verified `spiffe://` identity, when it presented one.
    public var peerIdentity: String?
    public var peerCertificate: Certificate?
    public var version: String
}

public enum TLSEvent: Sendable {
    case handshakeCompleted(TLSHandshakeInfo)
}

/// TLS as a NIO channel handler: ciphertext below, plaintext above, OpenSSL over
/// memory BIOs in between (`TLSConnection`). The lifecycle rules live in
/// `TLSHandlerStateMachine`; this class only performs its actions.
///
/// - Writes made before the handshake completes are held and sent after it.
/// - A plaintext write's promise completes when its ciphertext has been written.
/// - The handshake must finish within `handshakeTimeout`, or the channel closes
///   with `.handshakeTimeout`.
/// - Closing sends close_notify first; a close_notify from the peer is answered and
///   ends the connection; a transport that ends without one is reported as
///   `.uncleanShutdown` (possible truncation).
public final class TLSHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private var machine = TLSHandlerStateMachine()
    private let connection: TLSConnection
    private let handshakeTimeout: TimeAmount
    private var timeoutTask: Scheduled<Void>?
    private var heldWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var flushHeld = false

    /// Set once the handshake has completed.
    public private(set) var handshakeInfo: TLSHandshakeInfo?

    /// - Parameters:
    ///   - expectedPeerIdentity: for clients, the `spiffe://` ID the server must
    ///     present; any other identity fails the handshake.
    ///   - serverName: SNI to send (clients).
    public init(
        context: TLSContext, expectedPeerIdentity: String? = nil, serverName: String? = nil,
        handshakeTimeout: TimeAmount = .seconds(10)
    ) throws(TLSError) {
        self.connection = try TLSConnection(
            context: context, expectedPeerIdentity: expectedPeerIdentity, serverName: serverName)
        self.handshakeTimeout = handshakeTimeout
    }

    // MARK: Inbound

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startHandshake(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        startHandshake(context: context)
        context.fireChannelActive()
    }

    private func startHandshake(context: ChannelHandlerContext) {
        guard machine.channelActive() == .startHandshake else { return }
        scheduleTimeout(context: context)
        advanceHandshake(context: context)
    }

    private func scheduleTimeout(context: ChannelHandlerContext) {
        guard timeoutTask == nil else { return }
        let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        timeoutTask = context.eventLoop.assumeIsolated().scheduleTask(in: handshakeTimeout) {
            let context = loopBoundContext.value
            guard self.machine.handshakeTimedOut() == .failAndClose else { return }
            self.fail(
                context: context,
                with: TLSError(
                    .handshakeTimeout, "the peer did not complete the TLS handshake in \(self.handshakeTimeout)"))
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        switch machine.channelRead() {
        case .continueHandshake:
            scheduleTimeout(context: context)
            connection.receive(buffer)
            advanceHandshake(context: context)
        case .decrypt:
            connection.receive(buffer)
            decryptAndForward(context: context)
        case .ignore:
            break
        }
    }

    private func advanceHandshake(context: ChannelHandlerContext) {
        switch connection.handshake() {
        case .wantsMore:
            writeCiphertext(context: context, flush: true)
        case .failed(let error):
            // Send the alert OpenSSL queued before closing.
            writeCiphertext(context: context, flush: true)
            guard machine.handshakeFailed() == .failAndClose else { return }
            fail(context: context, with: error)
        case .complete:
            writeCiphertext(context: context, flush: true)
            timeoutTask?.cancel()
            timeoutTask = nil
            guard machine.handshakeCompleted() == .announceAndFlushBufferedWrites else { return }
            let info = TLSHandshakeInfo(
                applicationProtocol: connection.negotiatedApplicationProtocol, peerIdentity: connection.peerIdentity,
                peerCertificate: connection.peerCertificate, version: connection.negotiatedVersion)
            handshakeInfo = info
            // Held writes go first: whoever hears of the handshake may write at
            // once (a connection pool opening its first stream), and those bytes
            // must not overtake what was written before (HTTP/2's preface).
            let held = heldWrites
            heldWrites.removeAll()
            for (buffer, promise) in held { encryptAndWrite(context: context, buffer, promise: promise) }
            if flushHeld || !held.isEmpty { context.flush() }
            flushHeld = false
            context.fireUserInboundEventTriggered(TLSEvent.handshakeCompleted(info))
            // Application data may have arrived with the last handshake flight.
            decryptAndForward(context: context)
        }
    }

    private func decryptAndForward(context: ChannelHandlerContext) {
        switch connection.readPlaintext(allocator: context.channel.allocator) {
        case .failed(let error):
            writeCiphertext(context: context, flush: true)
            guard machine.protocolFailure() == .failAndClose else { return }
            fail(context: context, with: error)
        case .data(let plaintext, let closed):
            if plaintext.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(plaintext)) }
            // TLS 1.3 session tickets and key updates can produce output on read.
            writeCiphertext(context: context, flush: true)
            if closed, machine.closeNotifyReceived() == .replyAndClose {
                connection.shutdown()
                writeCiphertext(context: context, flush: true)
                context.close(promise: nil)
            }
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timeoutTask?.cancel()
        timeoutTask = nil
        failHeldWrites(TLSError(.closed, "the connection closed"))
        if machine.channelInactive() == .reportUncleanShutdown {
            context.fireErrorCaught(TLSError(.uncleanShutdown, "the connection closed without a TLS close_notify"))
        }
        context.fireChannelInactive()
    }

    // MARK: Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        switch machine.write() {
        case .buffer:
            heldWrites.append((buffer, promise))
        case .encrypt:
            encryptAndWrite(context: context, buffer, promise: promise)
        case .fail:
            promise?.fail(TLSError(.closed, "the TLS connection is closing"))
        }
    }

    public func flush(context: ChannelHandlerContext) {
        if machine.state == .active { context.flush() } else { flushHeld = true }
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all else {
            context.close(mode: mode, promise: promise)
            return
        }
        switch machine.closeRequested() {
        case .sendCloseNotifyAndClose:
            connection.shutdown()
            writeCiphertext(context: context, flush: true)
            context.close(mode: mode, promise: promise)
        case .closeNow:
            timeoutTask?.cancel()
            failHeldWrites(TLSError(.closed, "the connection closed before the TLS handshake completed"))
            context.close(mode: mode, promise: promise)
        case .forward:
            context.close(mode: mode, promise: promise)
        }
    }

    // MARK: Helpers

    private func encryptAndWrite(context: ChannelHandlerContext, _ buffer: ByteBuffer, promise: EventLoopPromise<Void>?)
    {
        if let error = connection.writePlaintext(buffer) {
            promise?.fail(error)
            guard machine.protocolFailure() == .failAndClose else { return }
            fail(context: context, with: error)
            return
        }
        guard let ciphertext = connection.drainOutput(allocator: context.channel.allocator) else {
            promise?.succeed()  // an empty write
            return
        }
        context.write(wrapOutboundOut(ciphertext), promise: promise)
    }

    private func writeCiphertext(context: ChannelHandlerContext, flush: Bool) {
        guard let ciphertext = connection.drainOutput(allocator: context.channel.allocator) else { return }
        if flush {
            context.writeAndFlush(wrapOutboundOut(ciphertext), promise: nil)
        } else {
            context.write(wrapOutboundOut(ciphertext), promise: nil)
        }
    }

    private func fail(context: ChannelHandlerContext, with error: TLSError) {
        timeoutTask?.cancel()
        timeoutTask = nil
        failHeldWrites(error)
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    private func failHeldWrites(_ error: TLSError) {
        let held = heldWrites
        heldWrites.removeAll()
        for (_, promise) in held { promise?.fail(error) }
    }
}

@available(*, unavailable)
extension TLSHandler: Sendable {}
