/// The secret half of a join token as a workload presents it: `wjt_` followed by
/// 20 to 200 base64url characters. The CA stores only its hash; the prefix makes a
/// leaked token easy to find with secret scanners.
public struct JoinTokenSecret: StringValidated, Hashable, Sendable {
    public static let prefix = "wjt_"
    public let value: String

    public init(validating text: String) throws(ProtocolError) {
        guard text.hasPrefix(Self.prefix) else {
            throw ProtocolError("invalid join token: must start with \(Self.prefix)")
        }
        let body = text.dropFirst(Self.prefix.count)
        guard (20...200).contains(body.utf8.count),
            body.utf8.allSatisfy({ DNSLabel.isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") })
        else {
            throw ProtocolError("invalid join token: expected \(Self.prefix) and 20 to 200 base64url characters")
        }
        self.value = text
    }

    /// Never prints the secret: logs and error messages get a redacted form.
    public var description: String { "\(Self.prefix)…(redacted)" }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}
