/// A route that answers with a redirect instead of forwarding: the request's
/// own URL with the parts given here replaced.
///
/// - `scheme` (`http` or `https`), `host`, `port`: the new origin. When the
///   scheme changes and no port is given, the port is left out (the old one
///   belonged to the old scheme); a port that is the scheme's default is left
///   out too.
/// - `path` replaces the whole path; `prefix` replaces the part the route's
///   `match.path.prefix` matched (`/v1/pay` under `/v1` with `/v2` becomes
///   `/v2/pay`). At most one of the two.
/// - `strip_query` drops the query; by default it is kept.
/// - `status`: 301, 302 (the default), 303, 307 or 308.
public struct RouteRedirect: Codable, Hashable, Sendable {
    public var scheme: String?
    public var host: String?
    public var port: Int?
    public var path: String?
    public var prefix: String?
    public var stripQuery: Bool
    public var status: Int

    public static let statuses: Set<Int> = [301, 302, 303, 307, 308]

    public init(
        scheme: String? = nil, host: String? = nil, port: Int? = nil, path: String? = nil, prefix: String? = nil,
        stripQuery: Bool = false, status: Int = 302
    ) throws(ProtocolError) {
        if let scheme, scheme != "http" && scheme != "https" {
            throw ProtocolError(field: "scheme", "must be http or https, got \"\(scheme.prefix(16))\"")
        }
        if let host {
            do {
                _ = try HostAddress(validating: host.lowercased())
            } catch {
                throw ProtocolError(field: "host", error.reason)
            }
        }
        if let port, !(1...65_535).contains(port) {
            throw ProtocolError(field: "port", "must be between 1 and 65535, got \(port)")
        }
        if path != nil && prefix != nil { throw ProtocolError(field: "prefix", "give path or prefix, not both") }
        if let path { _ = try PathMatch.validatePath(path, field: "path") }
        if let prefix { _ = try PathMatch.validatePath(prefix, field: "prefix") }
        guard Self.statuses.contains(status) else {
            throw ProtocolError(field: "status", "must be 301, 302, 303, 307 or 308, got \(status)")
        }
        self.scheme = scheme
        self.host = host?.lowercased()
        self.port = port
        self.path = path
        self.prefix = prefix
        self.stripQuery = stripQuery
        self.status = status
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(
            decoder, fields: ["scheme", "host", "port", "path", "prefix", "strip_query", "status"])
        let scheme: String? = try object.optional("scheme")
        let host: String? = try object.optional("host")
        let port: Int? = try object.optional("port")
        let path: String? = try object.optional("path")
        let prefix: String? = try object.optional("prefix")
        let stripQuery: Bool = try object.optional("strip_query", default: false)
        let status: Int = try object.optional("status", default: 302)
        self = try object.validate { () throws(ProtocolError) in
            try RouteRedirect(
                scheme: scheme, host: host, port: port, path: path, prefix: prefix, stripQuery: stripQuery,
                status: status)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(scheme, "scheme")
        try object.encode(host, "host")
        try object.encode(port, "port")
        try object.encode(path, "path")
        try object.encode(prefix, "prefix")
        if stripQuery { try object.encode(true, "strip_query") }
        try object.encode(status, "status")
    }
}

/// A route that answers by itself with a fixed response: a maintenance page, a
/// health answer at the edge, a 410 for a retired API. `status` 200 to 599;
/// `body` at most 4,096 bytes of text; `content_type` defaults to
/// `text/plain; charset=utf-8` when there is a body.
public struct DirectResponse: Codable, Hashable, Sendable {
    public var status: Int
    public var body: String?
    public var contentType: String?

    public static let bodyLimit = 4096

    public init(status: Int, body: String? = nil, contentType: String? = nil) throws(ProtocolError) {
        guard (200...599).contains(status) else {
            throw ProtocolError(field: "status", "must be between 200 and 599, got \(status)")
        }
        if let body, body.utf8.count > Self.bodyLimit {
            throw ProtocolError(field: "body", "is \(body.utf8.count) bytes; the limit is \(Self.bodyLimit)")
        }
        if let contentType,
            contentType.isEmpty || !HeaderEdits.isValidValue(contentType) || contentType.utf8.count > 256
        {
            throw ProtocolError(field: "content_type", "must be a media type of at most 256 bytes")
        }
        self.status = status
        self.body = body
        self.contentType = contentType
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["status", "body", "content_type"])
        let status: Int = try object.required("status")
        let body: String? = try object.optional("body")
        let contentType: String? = try object.optional("content_type")
        self = try object.validate { () throws(ProtocolError) in
            try DirectResponse(status: status, body: body, contentType: contentType)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        try object.encode(status, "status")
        try object.encode(body, "body")
        try object.encode(contentType, "content_type")
    }
}
