/// An error from WeftHTTP2. nghttp2's negative return codes are mapped here once,
/// at the boundary, and carry nghttp2's own description.
///
/// Proxies retry by `kind`: a request the peer never processed (`refused`) is safe
/// to send again anywhere; one that failed after it was sent (`streamFailed`) only
/// when it is idempotent.
public struct HTTP2Error: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: String, Equatable, Sendable {
        /// The peer broke the protocol; the connection must be closed (with GOAWAY
        /// where the session could still send one).
        case protocolViolation
        /// nghttp2 could not allocate or was misused: a bug or resource exhaustion.
        case internalFailure
        /// Refused before any processing: REFUSED_STREAM, a stream above the last
        /// stream id of the peer's GOAWAY, a connection that is going away or could
        /// not be opened. Always safe to retry, on another connection.
        case refused
        /// The stream failed after the request was sent (reset by the peer, or its
        /// connection lost): the peer may have acted on it.
        case streamFailed
    }

    public var kind: Kind
    /// nghttp2's error code (`NGHTTP2_ERR_*`), or for stream closes the HTTP/2
    /// error code the stream ended with, kept for logs and metrics.
    public var code: Int32
    public var reason: String

    public init(_ kind: Kind, code: Int32, reason: String) {
        self.kind = kind
        self.code = code
        self.reason = reason
    }

    /// Whether a request that met this error may be sent again whatever its method.
    public var isSafeToRetry: Bool { kind == .refused }

    /// The error of a stream that closed with `errorCode` before it completed.
    /// nghttp2 closes the streams above a GOAWAY's last stream id with
    /// REFUSED_STREAM, so those count as refused too.
    public static func streamClosed(_ streamID: Int32, with errorCode: HTTP2ErrorCode) -> HTTP2Error {
        let kind: Kind = errorCode == .refusedStream ? .refused : .streamFailed
        return HTTP2Error(
            kind, code: Int32(bitPattern: errorCode.rawValue), reason: "stream \(streamID) closed with \(errorCode)")
    }

    public var description: String { "\(kind.rawValue) (\(code)): \(reason)" }
}
