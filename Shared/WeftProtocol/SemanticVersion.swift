/// A Semantic Version 2.0.0 (https://semver.org): `MAJOR.MINOR.PATCH`, an optional
/// pre-release (`-beta.2`) and optional build metadata (`+exp.sha.5114f85`).
///
/// Parsing is strict: numeric identifiers without leading zeros and within 64 bits,
/// identifiers of `[0-9A-Za-z-]` that are never empty. Firmware headers often carry
/// a leading `v` (`v2.1.0`); `init(parsingHeaderValue:)` accepts that one extra.
///
/// Ordering: `precedence(comparedTo:)` is SemVer precedence (build metadata
/// ignored) and is what version ranges use. `<` breaks precedence ties by build
/// metadata so that `==` (which compares everything) and `<` agree.
public struct SemanticVersion: StringValidated, Hashable, Comparable, Sendable {
    public enum Identifier: Hashable, Sendable, CustomStringConvertible {
        case numeric(UInt64)
        case alphanumeric(String)

        public var description: String {
            switch self {
            case .numeric(let value): return String(value)
            case .alphanumeric(let text): return text
            }
        }
    }

    public var major: UInt64
    public var minor: UInt64
    public var patch: UInt64
    public var preRelease: [Identifier]
    public var build: [String]

    public init(_ major: UInt64, _ minor: UInt64, _ patch: UInt64, preRelease: [Identifier] = [], build: [String] = [])
    {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.preRelease = preRelease
        self.build = build
    }

    public init(validating text: String) throws(ProtocolError) {
        switch Self.parse(Substring(text)) {
        case .success(let version): self = version
        case .failure(let failure): throw ProtocolError("invalid version \"\(text.prefix(80))\": \(failure.reason)")
        }
    }

    /// Parses a version sent in a request header, tolerating a leading `v` and
    /// surrounding spaces. Returns nil rather than throwing: a request whose header
    /// is not a version simply does not match a version rule.
    public init?(parsingHeaderValue value: Substring) {
        var text = value.drop(while: { $0 == " " || $0 == "\t" })
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        if text.first == "v" || text.first == "V" { text = text.dropFirst() }
        guard case .success(let version) = Self.parse(text) else { return nil }
        self = version
    }

    public var description: String {
        var text = "\(major).\(minor).\(patch)"
        if !preRelease.isEmpty { text += "-" + preRelease.map(\.description).joined(separator: ".") }
        if !build.isEmpty { text += "+" + build.joined(separator: ".") }
        return text
    }

    public var isPreRelease: Bool { !preRelease.isEmpty }

    /// SemVer section 11 precedence: -1, 0 or 1. Build metadata does not count.
    public func precedence(comparedTo other: SemanticVersion) -> Int {
        if major != other.major { return major < other.major ? -1 : 1 }
        if minor != other.minor { return minor < other.minor ? -1 : 1 }
        if patch != other.patch { return patch < other.patch ? -1 : 1 }
        switch (preRelease.isEmpty, other.preRelease.isEmpty) {
        case (true, true): return 0
        case (true, false): return 1  // 1.0.0 > 1.0.0-alpha
        case (false, true): return -1
        case (false, false): break
        }
        for (left, right) in zip(preRelease, other.preRelease) {
            switch (left, right) {
            case (.numeric(let a), .numeric(let b)) where a != b: return a < b ? -1 : 1
            case (.numeric, .alphanumeric): return -1  // numeric identifiers sort first
            case (.alphanumeric, .numeric): return 1
            case (.alphanumeric(let a), .alphanumeric(let b)) where a != b:
                return Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)) ? -1 : 1  // ASCII order
            default: continue
            }
        }
        if preRelease.count != other.preRelease.count { return preRelease.count < other.preRelease.count ? -1 : 1 }
        return 0
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        let order = lhs.precedence(comparedTo: rhs)
        if order != 0 { return order < 0 }
        return lhs.build.lexicographicallyPrecedes(rhs.build)
    }

    /// The same version without pre-release or build: the `MAJOR.MINOR.PATCH` tuple.
    var core: SemanticVersion { SemanticVersion(major, minor, patch) }

    static func parse(_ text: Substring) -> Result<SemanticVersion, ParseFailure> {
        guard !text.isEmpty else { return .failure("must not be empty") }
        guard text.utf8.count <= ProtocolLimits.versionLength else {
            return .failure("longer than \(ProtocolLimits.versionLength) characters")
        }
        if let plain = plainRelease(text) { return .success(plain) }
        var rest = text
        var build: [String] = []
        if let plus = rest.firstIndex(of: "+") {
            let buildText = rest[rest.index(after: plus)...]
            rest = rest[..<plus]
            for identifier in buildText.split(separator: ".", omittingEmptySubsequences: false) {
                guard !identifier.isEmpty else { return .failure("build metadata has an empty identifier") }
                guard identifier.utf8.allSatisfy(isIdentifierByte) else {
                    return .failure("build metadata may hold only 0-9, A-Z, a-z and '-'")
                }
                build.append(String(identifier))
            }
        }
        var preRelease: [Identifier] = []
        if let dash = rest.firstIndex(of: "-") {
            let preText = rest[rest.index(after: dash)...]
            rest = rest[..<dash]
            for identifier in preText.split(separator: ".", omittingEmptySubsequences: false) {
                guard !identifier.isEmpty else { return .failure("pre-release has an empty identifier") }
                guard identifier.utf8.allSatisfy(isIdentifierByte) else {
                    return .failure("pre-release may hold only 0-9, A-Z, a-z and '-'")
                }
                if identifier.utf8.allSatisfy(isDigit) {
                    guard identifier == "0" || identifier.first != "0" else {
                        return .failure("numeric pre-release identifier \(identifier) has a leading zero")
                    }
                    guard let value = UInt64(identifier) else {
                        return .failure("numeric pre-release identifier \(identifier) is too large")
                    }
                    preRelease.append(.numeric(value))
                } else {
                    preRelease.append(.alphanumeric(String(identifier)))
                }
            }
        }
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return .failure("expected MAJOR.MINOR.PATCH") }
        var numbers: [UInt64] = []
        for (name, part) in zip(["major", "minor", "patch"], parts) {
            guard !part.isEmpty, part.utf8.allSatisfy(isDigit) else { return .failure("\(name) must be a number") }
            guard part == "0" || part.first != "0" else { return .failure("\(name) has a leading zero") }
            guard let value = UInt64(part) else { return .failure("\(name) is too large") }
            numbers.append(value)
        }
        return .success(SemanticVersion(numbers[0], numbers[1], numbers[2], preRelease: preRelease, build: build))
    }

    /// `MAJOR.MINOR.PATCH` and nothing else, read without allocating: what a
    /// firmware header carries on nearly every request. Anything else (a
    /// pre-release, build metadata, a leading zero, a number of more than 18
    /// digits, a stray byte) is left to the full parser, which also words the
    /// failure.
    static func plainRelease(_ text: Substring) -> SemanticVersion? {
        var numbers: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var part = 0
        var value: UInt64 = 0
        var digits = 0
        var leadingZero = false
        for byte in text.utf8 {
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                if digits == 0 { leadingZero = byte == UInt8(ascii: "0") } else if leadingZero { return nil }
                digits += 1
                guard digits <= 18 else { return nil }
                value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
            } else if byte == UInt8(ascii: "."), digits > 0, part < 2 {
                if part == 0 { numbers.0 = value } else { numbers.1 = value }
                part += 1
                value = 0
                digits = 0
            } else {
                return nil
            }
        }
        guard part == 2, digits > 0 else { return nil }
        numbers.2 = value
        return SemanticVersion(numbers.0, numbers.1, numbers.2)
    }

    struct ParseFailure: Error, ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
        let reason: String
        init(stringLiteral value: String) { self.reason = value }
        init(stringInterpolation: DefaultStringInterpolation) {
            self.reason = String(stringInterpolation: stringInterpolation)
        }
    }

    static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
    static func isIdentifierByte(_ byte: UInt8) -> Bool { DNSLabel.isAlphanumeric(byte) || byte == UInt8(ascii: "-") }
}
