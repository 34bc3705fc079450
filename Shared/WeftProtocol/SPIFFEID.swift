/// A workload identity: `spiffe://<trust-domain>/ns/<namespace>/sa/<service>`.
///
/// Parsing follows the SPIFFE ID specification (scheme `spiffe`, a trust domain of
/// lowercase letters, digits, `.`, `-` and `_`, no port, user info, query or
/// fragment; path segments of letters, digits, `.`, `-` and `_`, none empty, `.` or
/// `..`), and then Weft's own shape: exactly `ns/<namespace>/sa/<service>` with both
/// names RFC 1123 labels. A certificate carrying any other SPIFFE ID is not a Weft
/// workload, and the mesh refuses it.
public struct SPIFFEID: StringValidated, Hashable, Comparable, Sendable {
    public let trustDomain: String
    public let namespace: NamespaceName
    public let service: ServiceName

    public init(trustDomain: String, namespace: NamespaceName, service: ServiceName) throws(ProtocolError) {
        if let problem = Self.trustDomainProblem(trustDomain) {
            throw ProtocolError("invalid trust domain \"\(trustDomain.prefix(80))\": \(problem)")
        }
        self.trustDomain = trustDomain
        self.namespace = namespace
        self.service = service
    }

    public init(validating text: String) throws(ProtocolError) {
        func fail(_ reason: String) -> ProtocolError {
            ProtocolError("invalid SPIFFE ID \"\(text.prefix(120))\": \(reason)")
        }
        guard text.utf8.count <= ProtocolLimits.spiffeIDLength else {
            throw fail("longer than \(ProtocolLimits.spiffeIDLength) bytes")
        }
        guard text.hasPrefix("spiffe://") else { throw fail("must start with spiffe://") }
        let rest = text.dropFirst("spiffe://".count)
        if rest.contains("?") { throw fail("must not have a query") }
        if rest.contains("#") { throw fail("must not have a fragment") }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let trustDomain = String(rest[..<slash])
        if trustDomain.contains("@") { throw fail("must not have user info") }
        if trustDomain.contains(":") { throw fail("must not have a port") }
        if let problem = Self.trustDomainProblem(trustDomain) { throw fail("trust domain \(problem)") }
        let path = rest[slash...]
        guard !path.isEmpty else { throw fail("has no path; expected /ns/<namespace>/sa/<service>") }
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        for segment in segments {
            if segment.isEmpty { throw fail("path has an empty segment") }
            if segment == "." || segment == ".." { throw fail("path must not hold '.' or '..' segments") }
            if !segment.utf8.allSatisfy(Self.isPathByte) {
                throw fail("path segment \"\(segment.prefix(40))\" may hold only letters, digits, '.', '-' and '_'")
            }
        }
        guard segments.count == 4, segments[0] == "ns", segments[2] == "sa" else {
            throw fail("path must be /ns/<namespace>/sa/<service>")
        }
        if let problem = DNSLabel.problem(segments[1]) { throw fail("namespace \(problem)") }
        if let problem = DNSLabel.problem(segments[3]) { throw fail("service \(problem)") }
        self.trustDomain = trustDomain
        self.namespace = try NamespaceName(validating: String(segments[1]))
        self.service = try ServiceName(validating: String(segments[3]))
    }

    public var description: String { "spiffe://\(trustDomain)/ns/\(namespace)/sa/\(service)" }

    /// The service this identity speaks for.
    public var serviceReference: ServiceReference { ServiceReference(service: service, namespace: namespace) }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.description < rhs.description }

    public static func trustDomainProblem(_ text: String) -> String? {
        if text.isEmpty { return "must not be empty" }
        if text.utf8.count > ProtocolLimits.trustDomainLength {
            return "is longer than \(ProtocolLimits.trustDomainLength) characters"
        }
        for byte in text.utf8
        where
            !(DNSLabel.isLowerAlphanumeric(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "_"))
        {
            if (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) { return "must be lowercase" }
            return "may hold only a-z, 0-9, '.', '-' and '_'"
        }
        return nil
    }

    private static func isPathByte(_ byte: UInt8) -> Bool {
        DNSLabel.isAlphanumeric(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "_")
    }
}
