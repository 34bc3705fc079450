/// Which `Host` / `:authority` a route answers: an exact name (`api.example.com`),
/// every name one level or more below a domain (`*.example.com`, which does not
/// match `example.com` itself), or an IP literal. Matching ignores the port and
/// case.
public enum HostPattern: StringValidated, Hashable, Sendable {
    case exact(String)
    case suffix(String)

    public init(validating text: String) throws(ProtocolError) {
        let lowered = text.lowercased()
        if lowered.hasPrefix("*.") {
            let domain = String(lowered.dropFirst(2))
            guard case .hostname = try HostAddress(validating: domain) else {
                throw ProtocolError("invalid host \"\(text.prefix(80))\": a wildcard needs a domain name after *.")
            }
            self = .suffix(domain)
        } else if lowered.contains("*") {
            throw ProtocolError("invalid host \"\(text.prefix(80))\": '*' may only open the name, as in *.example.com")
        } else {
            self = .exact(try HostAddress(validating: lowered).description)
        }
    }

    public var description: String {
        switch self {
        case .exact(let host): return host
        case .suffix(let domain): return "*.\(domain)"
        }
    }

    /// Whether a request's authority (`Host: api.example.com:8443`) falls under this
    /// pattern.
    public func matches(authority: Substring) -> Bool {
        let host = Self.hostPart(of: authority).lowercased()
        switch self {
        case .exact(let expected): return host == expected
        case .suffix(let domain): return host.count > domain.count + 1 && host.hasSuffix("." + domain)
        }
    }

    /// The authority without its port (`[::1]:80` → `::1`).
    static func hostPart(of authority: Substring) -> Substring {
        if authority.first == "[", let close = authority.firstIndex(of: "]") {
            return authority[authority.index(after: authority.startIndex)..<close]
        }
        if let colon = authority.lastIndex(of: ":"), authority.firstIndex(of: ":") == colon {
            return authority[..<colon]
        }
        return authority
    }
}
