/// The name of a service in the mesh: an RFC 1123 label (`payments`, `auth-v2`),
/// so that it can appear in DNS names, SPIFFE IDs and URLs unchanged.
public struct ServiceName: StringValidated, Hashable, Comparable, Sendable {
    public let rawValue: String

    public init(validating text: String) throws(ProtocolError) {
        if let problem = DNSLabel.problem(Substring(text)) {
            throw ProtocolError("invalid service name \"\(text.prefix(80))\": \(problem)")
        }
        self.rawValue = text
    }

    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}
