/// Identifies one running instance of a service (a pod, a container, a process),
/// chosen by whoever registers it: 1 to 128 characters of letters, digits, `.`,
/// `_`, `-` and `:`, so hostnames, pod names and `host:port` all fit.
public struct InstanceID: StringValidated, Hashable, Comparable, Sendable {
    public let rawValue: String

    public init(validating text: String) throws(ProtocolError) {
        guard !text.isEmpty else { throw ProtocolError("invalid instance ID: must not be empty") }
        guard text.utf8.count <= ProtocolLimits.instanceIDLength else {
            throw ProtocolError("invalid instance ID: longer than \(ProtocolLimits.instanceIDLength) characters")
        }
        let allowed = text.utf8.allSatisfy { byte in
            DNSLabel.isAlphanumeric(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ":")
        }
        guard allowed else {
            throw ProtocolError(
                "invalid instance ID \"\(text.prefix(80))\": may hold only letters, digits, '.', '_', '-' and ':'")
        }
        self.rawValue = text
    }

    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}
