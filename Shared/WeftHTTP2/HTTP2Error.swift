/// An error from WeftHTTP2. nghttp2's negative return codes are mapped here once,
/// at the boundary, and carry nghttp2's own description.
public struct HTTP2Error: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: String, Equatable, Sendable {
        /// The peer broke the protocol; the connection must be closed (with GOAWAY
        /// where the session could still send one).
        case protocolViolation
        /// nghttp2 could not allocate or was misused: a bug or resource exhaustion.
        case internalFailure
    }

    public var kind: Kind
    /// nghttp2's error code (`NGHTTP2_ERR_*`), kept for logs and metrics.
    public var code: Int32
    public var reason: String

    public init(_ kind: Kind, code: Int32, reason: String) {
        self.kind = kind
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(kind.rawValue) (\(code)): \(reason)" }
}
