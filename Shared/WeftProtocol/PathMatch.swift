/// How a route matches the request path (without the query string):
///
/// - `exact`: the whole path, byte for byte.
/// - `prefix`: whole path segments, as the Kubernetes Gateway API's PathPrefix does:
///   `/api` matches `/api` and `/api/users` but not `/apiv2`. (Envoy's plain string
///   prefix lets `/admin` expose `/administrator`; Weft does not.)
/// - `regex`: a `SafeRegex` against the whole path.
///
/// In JSON exactly one of `{"exact": …}`, `{"prefix": …}`, `{"regex": …}`.
public enum PathMatch: Codable, Hashable, Sendable {
    case exact(String)
    case prefix(String)
    case regex(SafeRegex)

    public static func exact(validating path: String) throws(ProtocolError) -> PathMatch {
        .exact(try Self.validatePath(path, field: "exact"))
    }

    public static func prefix(validating path: String) throws(ProtocolError) -> PathMatch {
        var path = try Self.validatePath(path, field: "prefix")
        // `/api/` and `/api` mean the same segment prefix; keep one spelling.
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return .prefix(path)
    }

    public func matches(path: Substring) -> Bool {
        switch self {
        case .exact(let expected):
            return path == expected
        case .prefix(let prefix):
            if prefix == "/" { return path.hasPrefix("/") }
            guard path.hasPrefix(prefix) else { return false }
            let rest = path.dropFirst(prefix.count)
            return rest.isEmpty || rest.first == "/"
        case .regex(let regex):
            return regex.matches(path)
        }
    }

    public init(from decoder: any Decoder) throws {
        let object = try JSONObject(decoder, fields: ["exact", "prefix", "regex"])
        let given = ["exact", "prefix", "regex"].filter(object.contains)
        guard given.count == 1 else {
            throw ProtocolError(FieldPath(decoder.codingPath), "give exactly one of exact, prefix or regex")
        }
        switch given[0] {
        case "exact":
            let text: String = try object.required("exact")
            self = try object.validate { () throws(ProtocolError) in try .exact(validating: text) }
        case "prefix":
            let text: String = try object.required("prefix")
            self = try object.validate { () throws(ProtocolError) in try .prefix(validating: text) }
        default:
            self = .regex(try object.required("regex"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var object = encoder.object()
        switch self {
        case .exact(let path): try object.encode(path, "exact")
        case .prefix(let path): try object.encode(path, "prefix")
        case .regex(let regex): try object.encode(regex, "regex")
        }
    }

    /// A request path as configuration may name it: starting with `/`, visible
    /// ASCII only (percent-encode the rest), no query or fragment.
    static func validatePath(_ path: String, field: String) throws(ProtocolError) -> String {
        guard path.hasPrefix("/") else { throw ProtocolError(field: field, "must start with /") }
        guard path.utf8.count <= ProtocolLimits.pathLength else {
            throw ProtocolError(field: field, "longer than \(ProtocolLimits.pathLength) bytes")
        }
        guard path.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw ProtocolError(field: field, "may hold only visible ASCII; percent-encode anything else")
        }
        if path.contains("?") || path.contains("#") {
            throw ProtocolError(field: field, "must not hold a query or fragment; match query parameters with query")
        }
        return path
    }
}
