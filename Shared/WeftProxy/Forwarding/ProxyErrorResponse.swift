public import NIOCore
public import NIOHTTP1
public import WeftHTTP2
import WeftProtocol

/// The one place where a `ProxyError` becomes a response (STYLE.md, principle 13):
/// the status, an `x-weft-error` reason, `x-weft-proxy` naming who answered, and a
/// problem+json body; or, for a gRPC caller, a trailers-only response whose
/// `grpc-status` and `grpc-message` say the same.
public struct ProxyErrorResponse: Sendable {
    /// Who answered: `weft-sidecar`, `weft-gateway`.
    public let proxyName: String

    public init(proxyName: String) {
        self.proxyName = proxyName
    }

    /// Whether a request's content type makes it a gRPC call.
    public static func isGRPC(contentType: String?) -> Bool {
        guard let contentType else { return false }
        return contentType.utf8.starts(with: "application/grpc".utf8)
    }

    /// gRPC's status code for an HTTP status (the gRPC HTTP mapping).
    static func grpcStatus(_ status: Int) -> Int {
        switch status {
        case 400: return 13  // INTERNAL
        case 401: return 16  // UNAUTHENTICATED
        case 403: return 7  // PERMISSION_DENIED
        case 404: return 12  // UNIMPLEMENTED
        case 431: return 13  // INTERNAL
        case 429: return 8  // RESOURCE_EXHAUSTED
        case 504: return 4  // DEADLINE_EXCEEDED
        default: return 14  // UNAVAILABLE: 502, 503
        }
    }

    /// The problem document's bytes.
    public func body(_ error: ProxyError) -> ByteBuffer {
        let (code, reason) = error.status
        let problem = Problem(
            type: Problem.typeBase + reason, title: Self.title(code), status: code,
            detail: "\(proxyName): \(error.detail)")
        let bytes = (try? WeftJSON.encode(problem)).map { Array($0) } ?? Array("{}".utf8)
        return ByteBuffer(bytes: bytes)
    }

    /// The HTTP/2 answer: headers (with END_STREAM for gRPC) and, for HTTP, a body.
    public func http2(_ error: ProxyError, grpc: Bool) -> (headers: [HTTP2Header], body: ByteBuffer?) {
        let (code, reason) = error.status
        var headers: [HTTP2Header]
        var body: ByteBuffer?
        if grpc {
            headers = [
                HTTP2Header(":status", "200"), HTTP2Header("content-type", "application/grpc"),
                HTTP2Header("grpc-status", String(Self.grpcStatus(code))),
                HTTP2Header("grpc-message", Self.percentEncoded("\(proxyName): \(error.detail)")),
                HTTP2Header(WeftHeaders.error, reason), HTTP2Header(WeftHeaders.proxyGenerated, proxyName),
            ]
        } else {
            let problem = self.body(error)
            body = problem
            headers = [
                HTTP2Header(":status", String(code)), HTTP2Header("content-type", Problem.contentType),
                HTTP2Header("content-length", String(problem.readableBytes)), HTTP2Header(WeftHeaders.error, reason),
                HTTP2Header(WeftHeaders.proxyGenerated, proxyName),
            ]
        }
        if let seconds = error.retryAfter { headers.append(HTTP2Header(WeftHeaders.retryAfter, String(seconds))) }
        return (headers, body)
    }

    /// Answers `stream` with `error`, and ends it. With `stoppingRequestOn` (the
    /// caller is still sending; the stream's event loop), the stream is then reset with NO_ERROR, as RFC
    /// 9113 8.1 allows after a complete response, so the caller stops sending,
    /// but only once the answer's body is written: nghttp2 sends RST_STREAM
    /// ahead of queued DATA, and a reset sent at once cut the answer it follows
    /// (curl: "Stream error in the HTTP/2 framing layer" instead of the 413).
    /// A gRPC answer (headers only) is not followed by a reset: there is no
    /// write to wait for, and the caller's remaining bytes are only consumed.
    public func respond(
        _ error: ProxyError, grpc: Bool, on stream: HTTP2Stream, stoppingRequestOn eventLoop: (any EventLoop)? = nil
    ) {
        let (headers, body) = http2(error, grpc: grpc)
        Self.send(headers, body: body, on: stream, stoppingRequestOn: eventLoop)
    }

    /// Writes a response of the proxy's own (an error's, a `LocalResponse`) to
    /// `stream` and ends it; with `stoppingRequestOn`, then resets it with
    /// NO_ERROR once the body is written (see `respond`).
    static func send(
        _ headers: [HTTP2Header], body: ByteBuffer?, on stream: HTTP2Stream,
        stoppingRequestOn eventLoop: (any EventLoop)?
    ) {
        do {
            try stream.respond(headers, endStream: body == nil)
        } catch {
            stream.reset(.internalError)
            return
        }
        guard let body else { return }
        guard let eventLoop else {
            stream.write(body, endStream: true)
            return
        }
        let written = eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenSuccess { stream.reset(.noError) }
        stream.write(body, endStream: true, promise: written)
    }

    /// The HTTP/1.1 answer's head and body.
    public func http1(_ error: ProxyError, version: HTTPVersion, close: Bool) -> (HTTPResponseHead, ByteBuffer) {
        let (code, reason) = error.status
        let body = self.body(error)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: Problem.contentType)
        headers.add(name: "content-length", value: String(body.readableBytes))
        headers.add(name: WeftHeaders.error, value: reason)
        headers.add(name: WeftHeaders.proxyGenerated, value: proxyName)
        if let seconds = error.retryAfter { headers.add(name: WeftHeaders.retryAfter, value: String(seconds)) }
        if close { headers.add(name: "connection", value: "close") }
        return (
            HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: code), headers: headers), body
        )
    }

    static func title(_ code: Int) -> String {
        switch code {
        case 400: return "Bad Request"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 408: return "Request Timeout"
        case 413: return "Content Too Large"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        default: return "Error"
        }
    }

    /// gRPC's percent-encoding of `grpc-message` (RFC 3986 unreserved and most
    /// printable ASCII pass; everything else as %XX of its UTF-8 bytes).
    static func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            if byte >= 0x20 && byte <= 0x7E && byte != UInt8(ascii: "%") {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                result += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]], as: UTF8.self)
            }
        }
        return result
    }
}
