public import NIOCore

/// The server side of an HTTP/2 connection as a NIO channel handler: bytes from
/// the channel go into the `NGHTTP2Session`, its events go to one
/// `HTTP2StreamHandler` per stream (made by the factory when the stream's first
/// headers arrive), and whatever nghttp2 wants to send is written back.
///
/// Everything happens on the channel's event loop (no tasks, actors or locks per
/// request). Output produced while processing a read is written once, at the end of
/// that read; output produced by an application write is written at once.
///
/// A peer that breaks the protocol gets the GOAWAY nghttp2 queued, an error is
/// fired down the pipeline, and the connection closes. Nothing else is disturbed.
public final class HTTP2ServerHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private let session: NGHTTP2Session
    private let makeStreamHandler: (HTTP2Stream) -> any HTTP2StreamHandler
    private var streams: [Int32: (stream: HTTP2Stream, handler: any HTTP2StreamHandler)] = [:]
    private var context: ChannelHandlerContext?
    private var reading = false

    public init(
        configuration: HTTP2Configuration = HTTP2Configuration(),
        streamHandlerFactory: @escaping (HTTP2Stream) -> any HTTP2StreamHandler
    ) throws(HTTP2Error) {
        self.session = try NGHTTP2Session(role: .server, configuration: configuration)
        self.makeStreamHandler = streamHandlerFactory
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Our SETTINGS go out first (the server connection preface).
        flushOutput()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading = true
        defer {
            reading = false
            flushOutput()
        }
        do {
            try session.receive(unwrapInboundIn(data))
        } catch {
            // Deliver what was understood, send the GOAWAY, report, close.
            dispatch(session.takeEvents())
            flushOutput()
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return
        }
        dispatch(session.takeEvents())
    }

    public func channelInactive(context: ChannelHandlerContext) {
        let open = streams
        streams.removeAll()
        for (_, entry) in open.sorted(by: { $0.key < $1.key }) {
            entry.handler.streamClosed(entry.stream, errorCode: .cancel)
        }
        context.fireChannelInactive()
    }

    private func dispatch(_ events: [HTTP2SessionEvent]) {
        for event in events {
            switch event {
            case .headers(let id, let headers, let endStream):
                let entry: (stream: HTTP2Stream, handler: any HTTP2StreamHandler)
                if let existing = streams[id] {
                    entry = existing
                } else {
                    let stream = HTTP2Stream(id: id, connection: self)
                    entry = (stream, makeStreamHandler(stream))
                    streams[id] = entry
                }
                entry.handler.headersReceived(headers, endStream: endStream, stream: entry.stream)
            case .data(let id, let bytes, let endStream):
                guard let entry = streams[id] else { continue }
                entry.handler.dataReceived(bytes, endStream: endStream, stream: entry.stream)
            case .streamClosed(let id, let errorCode):
                guard let entry = streams.removeValue(forKey: id) else { continue }
                entry.handler.streamClosed(entry.stream, errorCode: errorCode)
            case .goAway, .pingAcknowledged, .settingsReceived:
                break
            }
        }
    }

    /// Writes what nghttp2 wants sent, completing the promises of the body chunks
    /// it framed once the write is done.
    private func flushOutput() {
        guard let context, !reading else { return }
        let output: ByteBuffer
        do {
            output = try session.drainOutput()
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return
        }
        let framed = session.takeFramedPromises()
        if output.readableBytes > 0 {
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenComplete { result in
                for promise in framed { promise.completeWith(result) }
            }
            context.writeAndFlush(wrapOutboundOut(output), promise: written)
        } else {
            for promise in framed { promise.succeed() }
        }
        if !session.isAlive { context.close(promise: nil) }
    }

    // MARK: Stream operations (HTTP2Stream forwards here)

    func respond(streamID: Int32, _ headers: [HTTP2Header], endStream: Bool) throws(HTTP2Error) {
        try session.submitResponse(streamID: streamID, headers, endStream: endStream)
        flushOutput()
    }

    func write(streamID: Int32, _ data: ByteBuffer, endStream: Bool, promise: EventLoopPromise<Void>?) {
        do {
            try session.sendData(streamID: streamID, data, endStream: endStream, promise: promise)
        } catch {
            promise?.fail(error)
            return
        }
        flushOutput()
    }

    func writeTrailers(streamID: Int32, _ headers: [HTTP2Header]) throws(HTTP2Error) {
        try session.sendTrailers(streamID: streamID, headers)
        flushOutput()
    }

    func consume(streamID: Int32, count: Int) {
        session.consume(streamID: streamID, count: count)
        flushOutput()
    }

    func reset(streamID: Int32, errorCode: HTTP2ErrorCode) {
        session.resetStream(streamID, errorCode: errorCode)
        flushOutput()
    }

    func pendingOutboundBytes(streamID: Int32) -> Int {
        session.pendingOutboundBytes(streamID: streamID)
    }
}

@available(*, unavailable)
extension HTTP2ServerHandler: Sendable {}
