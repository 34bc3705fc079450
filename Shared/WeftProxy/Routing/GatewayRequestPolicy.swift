public import WeftHTTP2
public import WeftProtocol

/// What the gateway does to an external request before it enters the mesh, in
/// this order:
///
/// 1. **Mesh-internal headers from outside are removed**: every `x-weft-*` field
///    (a caller identity, a deadline, a retry attempt) is the mesh's to set; from
///    the internet it is a forgery or a mistake.
/// 2. **The route's rewrite**: the path (whole, or the part its `path.prefix`
///    matched), the authority, headers set and removed.
/// 3. **Forwarding headers**: `x-forwarded-for` is *replaced* by the client's
///    address (the gateway is the edge: what a client claims about earlier hops
///    is not trusted), `x-forwarded-proto` by the listener's scheme,
///    `x-forwarded-host` by the authority the client asked for.
/// 4. **Trace context**: a valid `traceparent` passes through; a missing or
///    malformed one is replaced by a new trace (with its `tracestate` dropped).
public enum GatewayRequestPolicy {
    public static func prepare(
        _ headers: [HTTP2Header], request: GatewayRequest, route: RouteRule, clientAddress: String?, scheme: String,
        traceIDs: TraceIDGenerator
    ) -> [HTTP2Header] {
        let rewrite = route.rewrite
        var result: [HTTP2Header] = []
        result.reserveCapacity(headers.count + 4)
        var originalAuthority: String?
        var traceValid = false
        for header in headers {
            let name = header.name
            if name.utf8.first == UInt8(ascii: ":") {
                switch name {
                case ":path":
                    result.append(HTTP2Header(name, Self.rewrittenPath(header.value, request: request, route: route)))
                case ":authority":
                    originalAuthority = header.value
                    result.append(HTTP2Header(name, rewrite?.host ?? header.value))
                default:
                    result.append(header)
                }
                continue
            }
            if name.hasPrefix(WeftHeaders.prefix) { continue }
            switch name {
            case "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host":
                continue
            case "host":
                // A translated HTTP/1.1 request carries its host in :authority.
                continue
            case WeftHeaders.traceParent:
                traceValid = InboundRequestPolicy.isValidTraceParent(header.value)
                if !traceValid { continue }
            default:
                break
            }
            if let rewrite,
                rewrite.setHeaders.keys.contains(where: { $0.rawValue == name })
                    || rewrite.removeHeaders.contains(where: { $0.rawValue == name })
            {
                continue
            }
            result.append(header)
        }
        if !traceValid { result.removeAll { $0.name == WeftHeaders.traceState } }
        if let rewrite {
            for (name, value) in rewrite.setHeaders.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                result.append(HTTP2Header(name.rawValue, value))
            }
            for (name, value) in rewrite.addHeaders.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                result.append(HTTP2Header(name.rawValue, value))
            }
        }
        if let clientAddress { result.append(HTTP2Header("x-forwarded-for", clientAddress)) }
        result.append(HTTP2Header("x-forwarded-proto", scheme))
        if let originalAuthority { result.append(HTTP2Header("x-forwarded-host", originalAuthority)) }
        if !traceValid { result.append(HTTP2Header(WeftHeaders.traceParent, traceIDs.traceParent())) }
        return result
    }

    /// The path the destination receives: `rewrite.path` replaces the whole path,
    /// `rewrite.prefix` the part `match.path.prefix` matched; the query stays.
    static func rewrittenPath(_ target: String, request: GatewayRequest, route: RouteRule) -> String {
        guard let rewrite = route.rewrite else { return target }
        let query = request.query.isEmpty ? "" : "?" + request.query
        if let path = rewrite.path { return path + query }
        guard let replacement = rewrite.prefix else { return target }
        return replacingPrefix(request: request, route: route, with: replacement).map { $0 + query } ?? target
    }

    /// `request`'s path with the part the route's `match.path.prefix` matched
    /// replaced by `replacement`, segment-aware (no doubled or missing `/`);
    /// nil when the route matches no prefix.
    static func replacingPrefix(request: GatewayRequest, route: RouteRule, with replacement: String) -> String? {
        guard case .prefix(let matched) = route.match.path else { return nil }
        var rest = request.path.dropFirst(matched == "/" ? 0 : matched.utf8.count)
        if replacement.hasSuffix("/") && rest.hasPrefix("/") { rest = rest.dropFirst() }
        if rest.isEmpty { return replacement }
        if !replacement.hasSuffix("/") && !rest.hasPrefix("/") { return replacement + "/" + rest }
        return replacement + rest
    }
}
