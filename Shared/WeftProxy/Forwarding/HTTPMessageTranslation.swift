public import NIOHTTP1
public import WeftHTTP2

/// Translation between HTTP/1.1 message heads (NIOHTTP1) and HTTP/2 header
/// blocks, for the application-facing side of a proxy: an app speaks HTTP/1.1 to
/// its sidecar, the mesh hop is HTTP/2 (RFC 9113 section 8.2.2 and 8.3).
///
/// - `Host` becomes `:authority` and back; a request without one, or with two
///   that differ, is refused (RFC 9112 3.2).
/// - Connection-specific fields never cross: `connection`, `keep-alive`,
///   `proxy-connection`, `transfer-encoding`, `upgrade`, and every field the
///   `Connection` header names. `te` crosses only as `te: trailers`.
/// - Names are lowercased for HTTP/2.
/// - Request targets in absolute form (`http://host/path`, sent to proxies) give
///   their authority and path; CONNECT takes authority form (`host:port`) and has
///   no `:scheme` or `:path`.
public enum HTTPMessageTranslation {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let reason: String
        public init(_ reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    static let connectionSpecific: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
    ]

    /// The HTTP/2 request headers for an HTTP/1.1 request head.
    public static func http2RequestHeaders(for head: HTTPRequestHead, scheme: String) throws(Failure) -> [HTTP2Header] {
        let hosts = head.headers[canonicalForm: "host"].map(String.init)
        guard Set(hosts).count <= 1 else { throw Failure("the request has conflicting Host headers") }
        var authority = hosts.first
        var path = head.uri
        let method = head.method.rawValue

        if head.method == .CONNECT {
            // Authority form: the target is host:port.
            guard !head.uri.isEmpty, !head.uri.hasPrefix("/"), head.uri.contains(":"), isAuthority(head.uri) else {
                throw Failure("a CONNECT target must be host:port")
            }
            return [HTTP2Header(":method", method), HTTP2Header(":authority", head.uri)] + regularHeaders(head.headers)
        }
        if let schemeEnd = head.uri.firstRange(of: "://"), !head.uri.hasPrefix("/") {
            // Absolute form: the URI's authority wins over Host (RFC 9112 3.2.2).
            let rest = head.uri[schemeEnd.upperBound...]
            let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            authority = String(rest[..<slash])
            path = rest[slash...].isEmpty ? "/" : String(rest[slash...])
            if path.hasPrefix("?") { path = "/" + path }
        } else if head.uri == "*" {
            guard head.method == .OPTIONS else { throw Failure("the request target * is only for OPTIONS") }
        } else if !head.uri.hasPrefix("/") {
            throw Failure("the request target must start with / (origin form)")
        }
        guard let authority, !authority.isEmpty else {
            throw Failure("the request has no Host header")
        }
        guard isAuthority(authority) else {
            throw Failure("the request's authority \(authority.prefix(64)) is not a host[:port]")
        }
        return [
            HTTP2Header(":method", method), HTTP2Header(":scheme", scheme), HTTP2Header(":authority", authority),
            HTTP2Header(":path", path),
        ] + regularHeaders(head.headers)
    }

    /// Whether `text` can be an authority (RFC 3986 host and port, without
    /// userinfo): letters, digits, `-._~!$&'()*+;=:[]%`. A comma is refused
    /// although a registered name may hold one: HTTP/1.1 reads `Host: a,b` as
    /// two values, so an authority with a comma could not come back from
    /// HTTP/2 as the same Host (found by Fuzz/HTTP1Fuzz).
    static func isAuthority(_ text: String) -> Bool {
        text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return "-._~!$&'()*+;=:[]%".utf8.contains(byte)
            }
        }
    }

    /// The HTTP/2 response headers for an HTTP/1.1 response head.
    public static func http2ResponseHeaders(for head: HTTPResponseHead) -> [HTTP2Header] {
        [HTTP2Header(":status", String(head.status.code))] + regularHeaders(head.headers)
    }

    /// The HTTP/1.1 request head for an HTTP/2 request.
    public static func http1RequestHead(for headers: [HTTP2Header]) throws(Failure) -> HTTPRequestHead {
        guard let method = headers[first: ":method"], !method.isEmpty else {
            throw Failure("the request has no :method")
        }
        guard let authority = headers[first: ":authority"] ?? headers[first: "host"] else {
            throw Failure("the request has no :authority")
        }
        var fields = HTTPHeaders()
        fields.reserveCapacity(headers.count)
        fields.add(name: "host", value: authority)
        for header in headers where !header.name.hasPrefix(":") && header.name != "host" {
            fields.add(name: header.name, value: header.value)
        }
        if method == "CONNECT" {
            return HTTPRequestHead(version: .http1_1, method: .CONNECT, uri: authority, headers: fields)
        }
        guard let path = headers[first: ":path"], !path.isEmpty else { throw Failure("the request has no :path") }
        return HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path, headers: fields)
    }

    /// The HTTP/1.1 response head for an HTTP/2 response.
    public static func http1ResponseHead(for headers: [HTTP2Header]) throws(Failure) -> HTTPResponseHead {
        guard let statusText = headers[first: ":status"] else { throw Failure("the response has no :status") }
        guard statusText.count == 3, let code = Int(statusText), (100...599).contains(code) else {
            throw Failure("the response status \(statusText.prefix(16)) is not a three-digit code from 100 to 599")
        }
        var fields = HTTPHeaders()
        fields.reserveCapacity(headers.count)
        for header in headers where !header.name.hasPrefix(":") {
            fields.add(name: header.name, value: header.value)
        }
        return HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: code), headers: fields)
    }

    /// Fields that may cross into HTTP/2: lowercased, minus connection-specific
    /// ones (and those `Connection` names), `host` (carried as :authority), and
    /// `te` other than `trailers`.
    static func regularHeaders(_ headers: HTTPHeaders) -> [HTTP2Header] {
        // The fields `Connection` names, looked up only when it is there (the
        // set of connection-specific names is never copied per message).
        let nominated: [String] =
            headers.contains(name: "connection")
            ? headers[canonicalForm: "connection"].map { $0.lowercased() } : []
        var result: [HTTP2Header] = []
        result.reserveCapacity(headers.count)
        for (name, value) in headers {
            let lowered = name.lowercased()
            if connectionSpecific.contains(lowered) || lowered == "host" || nominated.contains(lowered) { continue }
            if lowered == "te" {
                if value.lowercased().split(separator: ",").contains(where: {
                    $0.trimmingCharacters(in: " \t") == "trailers"
                }) {
                    result.append(HTTP2Header("te", "trailers"))
                }
                continue
            }
            result.append(HTTP2Header(lowered, value))
        }
        return result
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in characters: String) -> Substring {
        var text = self
        while let first = text.first, characters.contains(first) { text = text.dropFirst() }
        while let last = text.last, characters.contains(last) { text = text.dropLast() }
        return text
    }
}
