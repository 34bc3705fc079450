/// Changes a route makes to a request before forwarding it.
///
/// - `path` replaces the whole path; `prefix` replaces the part matched by the
///   route's `path.prefix` (so `/v1/users` under prefix `/v1` with `prefix: /api`
///   becomes `/api/users`). At most one of the two.
/// - `host` replaces the authority.
/// - `set_headers` sets (replacing), `add_headers` appends (keeping those
///   already there) and `remove_headers` removes request headers; hop-by-hop
///   headers and `host` cannot be touched this way.
public struct RouteRewrite: Codable, Hashable, Sendable {
    public var path: String?
    public var prefix: String?
    public var host: String?
    public var setHeaders: [HeaderName: String]
    public var addHeaders: [HeaderName: String]
    public var removeHeaders: [HeaderName]

    public init(
        path: String? = nil, prefix: String? = nil, host: String? = nil, setHeaders: [HeaderName: String] = [:],
        addHeaders: [HeaderName: String] = [:], removeHeaders: [HeaderName] = []
    ) throws(ProtocolError) {
        if path != nil && prefix != nil { throw ProtocolError(field: "prefix", "give path or prefix, not both") }
        if let path { _ = try PathMatch.validatePath(path, field: "path") }
        if let prefix { _ = try PathMatch.validatePath(prefix, field: "prefix") }
        if let host {
            do {
                _ = try HostAddress(validating: HostPattern.hostPart(of: Substring(host)).lowercased())
            } catch {
                throw ProtocolError(field: "host", error.reason)
            }
        }
        guard setHeaders.count + addHeaders.count + removeHeaders.count <= ProtocolLimits.headerRewritesPerRoute else {
            throw ProtocolError(
                field: "set_headers", "at most \(ProtocolLimits.headerRewritesPerRoute) header changes per route")
        }
        for (field, names) in [
            ("set_headers", setHeaders.keys.sorted()), ("add_headers", addHeaders.keys.sorted()),
            ("remove_headers", removeHeaders),
        ] {
            for name in names where HeaderName.hopByHop.contains(name.rawValue) || name.rawValue == "host" {
                throw ProtocolError(field: field, "\(name) cannot be rewritten")
            }
        }
        for (field, name, value) in setHeaders.sorted(by: { $0.key < $1.key }).map({ ("set_headers", $0.key, $0.value) }
        )
            + addHeaders.sorted(by: { $0.key < $1.key }).map({ ("add_headers", $0.key, $0.value) })
        {
            guard value.utf8.count <= ProtocolLimits.headerValueLength,
                value.utf8.allSatisfy({ $0 == 0x09 || $0 >= 0x20 && $0 != 0x7F })
            else {
                throw ProtocolError(
                    FieldPath([.key(field), .key(name.rawValue)]),
                    "must be a header value without control characters, at most \(ProtocolLimits.headerValueLength) bytes"
                )
            }
        }
        self.path = path
        self.prefix = prefix
        self.host = host
        self.setHeaders = setHeaders
        self.addHeaders = addHeaders
        self.removeHeaders = removeHeaders
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(
            decoder, fields: ["path", "prefix", "host", "set_headers", "add_headers", "remove_headers"])
        let path: String? = try object.optional("path")
        let prefix: String? = try object.optional("prefix")
        let host: String? = try object.optional("host")
        let setHeaders = try object.headerFields("set_headers")
        let addHeaders = try object.headerFields("add_headers")
        let removeHeaders: [HeaderName] = try object.list(
            "remove_headers", limit: ProtocolLimits.headerRewritesPerRoute)
        self = try object.validate { () throws(ProtocolError) in
            try RouteRewrite(
                path: path, prefix: prefix, host: host, setHeaders: setHeaders, addHeaders: addHeaders,
                removeHeaders: removeHeaders)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(path, "path")
        try object.encode(prefix, "prefix")
        try object.encode(host, "host")
        if !setHeaders.isEmpty {
            try object.encode(
                Dictionary(uniqueKeysWithValues: setHeaders.map { ($0.key.rawValue, $0.value) }), "set_headers")
        }
        if !addHeaders.isEmpty {
            try object.encode(
                Dictionary(uniqueKeysWithValues: addHeaders.map { ($0.key.rawValue, $0.value) }), "add_headers")
        }
        if !removeHeaders.isEmpty { try object.encode(removeHeaders, "remove_headers") }
    }
}
