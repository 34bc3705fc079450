/// Key/value labels on an instance (`version: 2.1.0`, `terminal-type: kiosk`,
/// `firmware: 3.4.1`); route destinations select instances by them.
///
/// Keys are lowercase like DNS labels but may also hold `.`, `_` and `/` (so
/// `weft.dev/canary` works), at most 63 characters. Values are printable ASCII
/// without spaces, at most 255 characters, and may be empty. At most 64 labels.
public struct Labels: Codable, Hashable, Sendable, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    public private(set) var values: [String: String]

    public init(_ values: [String: String]) throws(ProtocolError) {
        guard values.count <= ProtocolLimits.labelsPerObject else {
            throw ProtocolError("has \(values.count) labels; the limit is \(ProtocolLimits.labelsPerObject)")
        }
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            if let problem = Self.keyProblem(key) {
                throw ProtocolError(FieldPath([.key(key)]), "invalid label key: \(problem)")
            }
            if let problem = Self.valueProblem(value) {
                throw ProtocolError(FieldPath([.key(key)]), "invalid label value: \(problem)")
            }
        }
        self.values = values
    }

    /// For literals in code and tests; traps on an invalid label (a programmer error).
    public init(dictionaryLiteral elements: (String, String)...) {
        do {
            try self.init(Dictionary(elements, uniquingKeysWith: { _, last in last }))
        } catch {
            preconditionFailure("invalid label literal: \(error)")
        }
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode([String: String].self)
        do {
            try self.init(raw)
        } catch {
            throw error.under(decoder.codingPath)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(values)
    }

    public subscript(key: String) -> String? { values[key] }
    public var isEmpty: Bool { values.isEmpty }

    /// Whether every label of `selector` is present here with the same value.
    public func contains(_ selector: Labels) -> Bool {
        selector.values.allSatisfy { values[$0.key] == $0.value }
    }

    public var description: String {
        values.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    static func keyProblem(_ key: String) -> String? {
        if key.isEmpty { return "must not be empty" }
        if key.utf8.count > ProtocolLimits.nameLength {
            return "is longer than \(ProtocolLimits.nameLength) characters"
        }
        for byte in key.utf8 {
            let allowed =
                DNSLabel.isLowerAlphanumeric(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "/")
            if !allowed { return "may hold only a-z, 0-9, '-', '.', '_' and '/'" }
        }
        guard let first = key.utf8.first, let last = key.utf8.last, DNSLabel.isLowerAlphanumeric(first),
            DNSLabel.isLowerAlphanumeric(last)
        else { return "must start and end with a letter or digit" }
        return nil
    }

    static func valueProblem(_ value: String) -> String? {
        if value.utf8.count > ProtocolLimits.labelValueLength {
            return "is longer than \(ProtocolLimits.labelValueLength) characters"
        }
        if !value.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) {
            return "may hold only printable ASCII without spaces"
        }
        return nil
    }
}
