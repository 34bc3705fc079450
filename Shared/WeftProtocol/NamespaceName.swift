/// A namespace groups services (and matches the Kubernetes namespace when Weft runs
/// there). An RFC 1123 label; `default` when not given.
public struct NamespaceName: StringValidated, Hashable, Comparable, Sendable {
    public let rawValue: String

    public static let `default` = NamespaceName(unchecked: "default")

    public init(validating text: String) throws(ProtocolError) {
        if let problem = DNSLabel.problem(Substring(text)) {
            throw ProtocolError("invalid namespace \"\(text.prefix(80))\": \(problem)")
        }
        self.rawValue = text
    }

    private init(unchecked text: String) { self.rawValue = text }

    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}
