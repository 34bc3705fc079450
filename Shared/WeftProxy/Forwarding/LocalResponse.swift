public import NIOCore
import NIOHTTP1
public import WeftHTTP2
import WeftProtocol

/// A response the proxy gives itself instead of forwarding the request: a
/// route's redirect or direct response, or the plaintext port's redirect to
/// HTTPS. The forwarder (HTTP/2 callers) and the bridge (HTTP/1.1 callers)
/// write it; `x-weft-proxy` says who answered, as on every answer of the
/// proxy's own.
public struct LocalResponse: Sendable, Equatable {
    public var status: Int
    /// Regular fields (`location`, `content-type`, …); `content-length` is
    /// added from the body.
    public var headers: [HTTP2Header]
    public var body: ByteBuffer?

    public init(status: Int, headers: [HTTP2Header] = [], body: ByteBuffer? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A redirect to `location` (301, 302, 303, 307 or 308), with no body.
    public static func redirect(to location: String, status: Int) -> LocalResponse {
        LocalResponse(status: status, headers: [HTTP2Header("location", location)])
    }

    /// The HTTP/2 head: `:status`, the fields, `content-length`, who answered,
    /// then `extra` (a route's response headers).
    func http2Headers(proxyName: String, extra: [HTTP2Header]) -> [HTTP2Header] {
        var fields = [HTTP2Header(":status", String(status))]
        fields.append(contentsOf: headers)
        fields.append(HTTP2Header("content-length", String(body?.readableBytes ?? 0)))
        fields.append(HTTP2Header(WeftHeaders.proxyGenerated, proxyName))
        fields.append(contentsOf: extra)
        return fields
    }

    /// The HTTP/1.1 head, the same fields.
    func http1Head(proxyName: String, extra: [HTTP2Header], version: HTTPVersion, close: Bool) -> HTTPResponseHead {
        var fields = HTTPHeaders()
        for header in http2Headers(proxyName: proxyName, extra: extra).dropFirst() {
            fields.add(name: header.name, value: header.value)
        }
        if close { fields.add(name: "connection", value: "close") }
        return HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: status), headers: fields)
    }
}
