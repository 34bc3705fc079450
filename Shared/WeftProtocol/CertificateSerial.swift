/// A certificate serial number in lowercase hex without separators. RFC 5280 caps
/// serials at 20 octets (40 hex digits); Weft's CA issues random 128-bit or longer
/// ones. Input may use upper case or `:` separators (as `openssl x509 -serial`
/// prints them); it is normalised.
public struct CertificateSerial: StringValidated, Hashable, Comparable, Sendable {
    public let hex: String

    public init(validating text: String) throws(ProtocolError) {
        let digits = text.filter { $0 != ":" }.lowercased()
        guard !digits.isEmpty, digits.count <= 40,
            digits.utf8.allSatisfy({
                SemanticVersion.isDigit($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
            })
        else {
            throw ProtocolError("invalid certificate serial \"\(text.prefix(60))\": expected 1 to 40 hex digits")
        }
        // Leading zero octets carry no value; drop them so one serial has one spelling.
        var trimmed = Substring(digits)
        while trimmed.count > 1 && trimmed.first == "0" { trimmed = trimmed.dropFirst() }
        self.hex = String(trimmed)
    }

    public var description: String { hex }
    public static func < (lhs: Self, rhs: Self) -> Bool {
        lhs.hex.count != rhs.hex.count ? lhs.hex.count < rhs.hex.count : lhs.hex < rhs.hex
    }
}
