/// A route rule's name, unique within its table: what metrics, logs and the audit
/// log call it. Same rules as a service name.
public struct RouteName: StringValidated, Hashable, Comparable, Sendable {
    public let rawValue: String

    public init(validating text: String) throws(ProtocolError) {
        if let problem = DNSLabel.problem(Substring(text)) {
            throw ProtocolError("invalid route name \"\(text.prefix(80))\": \(problem)")
        }
        self.rawValue = text
    }

    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}
