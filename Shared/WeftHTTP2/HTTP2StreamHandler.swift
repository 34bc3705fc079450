public import NIOCore

/// What an application does with one HTTP/2 stream. Every call arrives on the
/// connection's event loop, in order: headers, then data (received bytes must be
/// `consume`d on the stream to let the peer send more), possibly trailers (a
/// second `headersReceived` with `endStream`), then `streamClosed`.
public protocol HTTP2StreamHandler: AnyObject {
    func headersReceived(_ headers: [HTTP2Header], endStream: Bool, stream: HTTP2Stream)
    func dataReceived(_ data: ByteBuffer, endStream: Bool, stream: HTTP2Stream)
    func streamClosed(_ stream: HTTP2Stream, errorCode: HTTP2ErrorCode)
}

/// The writing side of one HTTP/2 stream, handed to its `HTTP2StreamHandler`.
/// Use it only on the connection's event loop.
public final class HTTP2Stream {
    public let id: Int32
    private weak var connection: HTTP2ConnectionHandler?

    init(id: Int32, connection: HTTP2ConnectionHandler) {
        self.id = id
        self.connection = connection
    }

    /// Sends the response headers; with `endStream`, the whole response.
    public func respond(_ headers: [HTTP2Header], endStream: Bool) throws(HTTP2Error) {
        guard let connection else { throw Self.gone(id) }
        try connection.respond(streamID: id, headers, endStream: endStream)
    }

    /// Queues body bytes. The promise completes once they are framed and written to
    /// the connection, or fails if the stream ends first.
    public func write(_ data: ByteBuffer, endStream: Bool = false, promise: EventLoopPromise<Void>? = nil) {
        guard let connection else {
            promise?.fail(Self.gone(id))
            return
        }
        connection.write(streamID: id, data, endStream: endStream, promise: promise)
    }

    /// Queues body bytes received on `source` (another stream, on this event
    /// loop) and, once they have been written here, consumes them there: the
    /// sender on `source` may send that much more. How a proxy links flow control
    /// end to end, with nothing allocated per chunk.
    public func write(_ data: ByteBuffer, endStream: Bool = false, consumingOn source: HTTP2Stream) {
        guard let connection else { return }
        connection.write(streamID: id, data, endStream: endStream, consumingOn: source)
    }

    /// Ends the stream with trailers.
    public func writeTrailers(_ headers: [HTTP2Header]) throws(HTTP2Error) {
        guard let connection else { throw Self.gone(id) }
        try connection.writeTrailers(streamID: id, headers)
    }

    /// Tells the peer it may send `count` more bytes: call after processing
    /// received data. Not consuming is how a slow reader slows the sender.
    public func consume(_ count: Int) {
        connection?.consume(streamID: id, count: count)
    }

    public func reset(_ errorCode: HTTP2ErrorCode) {
        connection?.reset(streamID: id, errorCode: errorCode)
    }

    /// Bytes written to this stream and not yet framed (waiting for window).
    public var pendingOutboundBytes: Int { connection?.pendingOutboundBytes(streamID: id) ?? 0 }

    private static func gone(_ id: Int32) -> HTTP2Error {
        HTTP2Error(.internalFailure, code: -510, reason: "stream \(id): the connection is gone")
    }
}

@available(*, unavailable)
extension HTTP2Stream: Sendable {}
