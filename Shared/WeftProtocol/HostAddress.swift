/// Where an instance listens: an IPv4 address, an IPv6 address, or a DNS hostname
/// (Docker Compose and Kubernetes hand out names, not addresses).
///
/// Parsed here in Swift so that WeftProtocol needs no C library. IPv6 is written
/// without brackets in JSON (`::1`) and printed in RFC 5952 canonical form.
public enum HostAddress: StringValidated, Hashable, Sendable {
    case ipv4(UInt8, UInt8, UInt8, UInt8)
    case ipv6([UInt16])
    case hostname(String)

    public init(validating text: String) throws(ProtocolError) {
        if let v4 = Self.parseIPv4(Substring(text)) {
            self = .ipv4(v4.0, v4.1, v4.2, v4.3)
        } else if text.contains(":") {
            guard let groups = Self.parseIPv6(text) else {
                throw ProtocolError("invalid address \"\(text.prefix(80))\": not a valid IPv6 address")
            }
            self = .ipv6(groups)
        } else {
            if text.utf8.count > ProtocolLimits.hostnameLength {
                throw ProtocolError(
                    "invalid address: hostname is longer than \(ProtocolLimits.hostnameLength) characters")
            }
            let labels = text.split(separator: ".", omittingEmptySubsequences: false)
            for label in labels {
                if let problem = DNSLabel.problem(label) {
                    throw ProtocolError("invalid address \"\(text.prefix(80))\": hostname label \(problem)")
                }
            }
            // All-numeric dotted names that failed IPv4 parsing (`300.1.1.1`,
            // `1.2.3`) are typos of addresses, not hostnames.
            if labels.last.map({ $0.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }) == true
            {
                throw ProtocolError("invalid address \"\(text.prefix(80))\": not a valid IPv4 address")
            }
            self = .hostname(text)
        }
    }

    public var description: String {
        switch self {
        case .ipv4(let a, let b, let c, let d): return "\(a).\(b).\(c).\(d)"
        case .ipv6(let groups): return Self.formatIPv6(groups)
        case .hostname(let name): return name
        }
    }

    /// The form to put in a URL authority: IPv6 in brackets.
    public var uriHost: String {
        if case .ipv6 = self { return "[\(description)]" }
        return description
    }

    static func parseIPv4(_ text: Substring) -> (UInt8, UInt8, UInt8, UInt8)? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var octets: [UInt8] = []
        for part in parts {
            // No leading zeros: `010` is octal to some parsers and decimal to others.
            guard (1...3).contains(part.count),
                part.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                part == "0" || part.first != "0", let value = UInt8(part)
            else { return nil }
            octets.append(value)
        }
        return (octets[0], octets[1], octets[2], octets[3])
    }

    static func parseIPv6(_ text: String) -> [UInt16]? {
        guard text.utf8.count <= 45 else { return nil }
        var head: [UInt16] = []
        var tail: [UInt16] = []
        let halves = text.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard halves.count <= 2 else { return nil }
        func parseGroups(_ part: String, allowIPv4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var groups: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if allowIPv4Tail, index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parseIPv4(piece) else { return nil }
                    groups.append(UInt16(v4.0) << 8 | UInt16(v4.1))
                    groups.append(UInt16(v4.2) << 8 | UInt16(v4.3))
                    continue
                }
                guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                groups.append(value)
            }
            return groups
        }
        if halves.count == 2 {
            guard let h = parseGroups(halves[0], allowIPv4Tail: false),
                let t = parseGroups(halves[1], allowIPv4Tail: true)
            else {
                return nil
            }
            head = h
            tail = t
            guard head.count + tail.count <= 7 else { return nil }
            return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard let all = parseGroups(text, allowIPv4Tail: true), all.count == 8 else { return nil }
        return all
    }

    /// RFC 5952: lowercase hex, no leading zeros, the longest run (≥ 2) of zero
    /// groups (the first of equals) written as `::`.
    static func formatIPv6(_ groups: [UInt16]) -> String {
        var bestStart = -1
        var bestLength = 0
        var index = 0
        while index < groups.count {
            if groups[index] == 0 {
                var end = index
                while end < groups.count, groups[end] == 0 { end += 1 }
                if end - index > bestLength {
                    bestStart = index
                    bestLength = end - index
                }
                index = end
            } else {
                index += 1
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard bestLength >= 2 else { return hex.joined(separator: ":") }
        let before = hex[..<bestStart].joined(separator: ":")
        let after = hex[(bestStart + bestLength)...].joined(separator: ":")
        return before + "::" + after
    }
}
