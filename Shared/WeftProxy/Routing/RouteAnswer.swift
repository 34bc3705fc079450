import NIOCore
public import WeftHTTP2
public import WeftProtocol

/// What a rule that answers by itself answers (`redirect`, `direct_response`),
/// and the response header changes any rule makes. Shared by the gateway's
/// routes and the sidecar's service routes.
public enum RouteAnswer {
    /// The rule's own response to `request`, or nil when it forwards.
    public static func response(for rule: RouteRule, request: GatewayRequest, headers: [HTTP2Header]) -> LocalResponse?
    {
        if let redirect = rule.redirect {
            return .redirect(
                to: location(redirect, rule: rule, request: request, headers: headers), status: redirect.status)
        }
        guard let direct = rule.directResponse else { return nil }
        var fields: [HTTP2Header] = []
        var body: ByteBuffer?
        if let text = direct.body {
            fields.append(HTTP2Header("content-type", direct.contentType ?? "text/plain; charset=utf-8"))
            body = ByteBuffer(string: text)
        } else if let type = direct.contentType {
            fields.append(HTTP2Header("content-type", type))
        }
        return LocalResponse(status: direct.status, headers: fields, body: body)
    }

    /// The redirect's target: the request's URL with the redirect's parts put
    /// in. A port is kept only while the scheme is, and never written when it
    /// is the scheme's default.
    static func location(
        _ redirect: RouteRedirect, rule: RouteRule, request: GatewayRequest, headers: [HTTP2Header]
    ) -> String {
        let requestScheme = headers[first: ":scheme"] ?? "http"
        let scheme = redirect.scheme ?? requestScheme
        let (requestHost, requestPort) = splitAuthority(headers[first: ":authority"] ?? headers[first: "host"] ?? "")
        let host = redirect.host ?? requestHost
        var port = redirect.port ?? (scheme == requestScheme ? requestPort : nil)
        if port == (scheme == "https" ? 443 : 80) { port = nil }
        var path = String(request.path)
        if let replacement = redirect.path {
            path = replacement
        } else if let replacement = redirect.prefix {
            path = GatewayRequestPolicy.replacingPrefix(request: request, route: rule, with: replacement) ?? path
        }
        if path.isEmpty { path = "/" }
        let query = redirect.stripQuery || request.query.isEmpty ? "" : "?" + request.query
        return "\(scheme)://\(host)\(port.map { ":\($0)" } ?? "")\(path)\(query)"
    }

    /// `host:port`, `[v6]:port` or a bare host, split; the host as sent.
    static func splitAuthority(_ authority: String) -> (host: String, port: Int?) {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            let host = String(authority[...close])
            let rest = authority[authority.index(after: close)...]
            return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil)
        }
        guard let colon = authority.lastIndex(of: ":") else { return (authority, nil) }
        return (String(authority[..<colon]), Int(authority[authority.index(after: colon)...]))
    }
}

extension HeaderEdits {
    /// `headers` (a response head, pseudo-fields first) with the changes made:
    /// removed and set names dropped, then the set values, then the added ones.
    public func apply(to headers: [HTTP2Header]) -> [HTTP2Header] {
        guard !isEmpty else { return headers }
        var result: [HTTP2Header] = []
        result.reserveCapacity(headers.count + setFields.count + addFields.count)
        for header in headers
        where !removeFields.contains(where: { $0.rawValue == header.name })
            && !setFields.keys.contains(where: { $0.rawValue == header.name })
        {
            result.append(header)
        }
        for (name, value) in setFields.sorted(by: { $0.key < $1.key }) {
            result.append(HTTP2Header(name.rawValue, value))
        }
        for (name, value) in addFields.sorted(by: { $0.key < $1.key }) {
            result.append(HTTP2Header(name.rawValue, value))
        }
        return result
    }
}
