/// RFC 1123 label rules, shared by service names, namespace names and hostnames:
/// lowercase letters, digits and `-`, starting and ending with a letter or digit.
enum DNSLabel {
    static func problem(_ text: Substring, maximumLength: Int = ProtocolLimits.nameLength) -> String? {
        if text.isEmpty { return "must not be empty" }
        if text.utf8.count > maximumLength { return "is \(text.utf8.count) characters; the limit is \(maximumLength)" }
        for byte in text.utf8 where !(isLowerAlphanumeric(byte) || byte == UInt8(ascii: "-")) {
            if (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) { return "must be lowercase" }
            return "may hold only a-z, 0-9 and '-'"
        }
        if text.utf8.first == UInt8(ascii: "-") || text.utf8.last == UInt8(ascii: "-") {
            return "must start and end with a letter or digit"
        }
        return nil
    }

    static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isLowerAlphanumeric(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
}
