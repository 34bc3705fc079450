/// A set of semantic versions, written the way npm and Cargo users already write
/// them, used to route by firmware or app version (`x-firmware-version` in
/// `>=2.1.0 <3.0.0`).
///
/// Grammar (whitespace separates comparators; all must hold; `||` joins
/// alternatives, any of which may hold):
///
/// | form | means |
/// | --- | --- |
/// | `1.2.3`, `=1.2.3` | exactly 1.2.3 |
/// | `>1.2.3` `>=1.2.3` `<1.2.3` `<=1.2.3` | comparisons; partial versions fill in (`<2.1` is `<2.1.0-0`) |
/// | `1.2`, `1.2.x`, `1`, `1.x`, `*` | any patch of 1.2 / any 1.x / anything |
/// | `~1.2.3` `~1.2` `~1` | same minor: `>=1.2.3 <1.3.0-0`; `~1` is `>=1.0.0 <2.0.0-0` |
/// | `^1.2.3` `^0.2.3` `^0.0.3` `^1.2` `^0.0` `^0` | no change to the left-most non-zero part (Cargo and npm) |
/// | `1.2.3 - 2.3.4` | inclusive range; a partial upper bound covers its whole span |
///
/// Pre-releases: a version like `3.0.0-beta.1` is in the range only if some
/// comparator the operator wrote names a pre-release of the same `3.0.0`. A canary
/// firmware never lands on a route by accident (npm's rule).
///
/// Refused: an empty range, an empty alternative, and any alternative that no
/// version can satisfy (`>=3.0.0 <2.0.0`): such a range is always a mistake.
public struct VersionRange: StringValidated, Hashable, Sendable {
    struct Comparator: Hashable, Sendable {
        enum Operator: String, Sendable {
            case lessThan = "<"
            case lessOrEqual = "<="
            case greaterThan = ">"
            case greaterOrEqual = ">="
            case equal = "="
        }
        var op: Operator
        var version: SemanticVersion
        /// Bounds the desugaring invents (`<2.0.0-0`) do not open the door to
        /// pre-releases; only what the operator wrote does.
        var synthetic: Bool

        func admits(_ candidate: SemanticVersion) -> Bool {
            let order = candidate.precedence(comparedTo: version)
            switch op {
            case .lessThan: return order < 0
            case .lessOrEqual: return order <= 0
            case .greaterThan: return order > 0
            case .greaterOrEqual: return order >= 0
            case .equal: return order == 0
            }
        }
    }

    /// The union of intersections; an empty intersection means "any version".
    let alternatives: [[Comparator]]
    /// The range as written, with whitespace normalised.
    public let text: String

    public init(validating source: String) throws(ProtocolError) {
        func fail(_ reason: String) -> ProtocolError {
            ProtocolError("invalid version range \"\(source.prefix(120))\": \(reason)")
        }
        guard source.utf8.count <= ProtocolLimits.versionRangeLength else {
            throw fail("longer than \(ProtocolLimits.versionRangeLength) characters")
        }
        let trimmed = source.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
        guard !trimmed.isEmpty else { throw fail("must not be empty; write * for any version") }
        var alternatives: [[Comparator]] = []
        var texts: [String] = []
        let parts = trimmed.split(separator: "||", omittingEmptySubsequences: false)
        for (position, part) in parts.enumerated() {
            let tokens = Self.tokens(part)
            guard !tokens.isEmpty else { throw fail("alternative \(position + 1) is empty") }
            let comparators: [Comparator]
            do {
                comparators = try Self.desugar(tokens)
            } catch {
                throw fail(error.reason)
            }
            if let contradiction = Self.contradiction(in: comparators) {
                let which = parts.count > 1 ? "alternative \(position + 1) (\(tokens.joined(separator: " "))) " : ""
                throw fail("\(which)can never match: \(contradiction)")
            }
            alternatives.append(comparators)
            texts.append(tokens.joined(separator: " "))
        }
        self.alternatives = alternatives
        self.text = texts.joined(separator: " || ")
    }

    public var description: String { text }

    /// Whether `version` lies in this range (precedence only; build metadata never
    /// matters).
    public func contains(_ version: SemanticVersion) -> Bool {
        alternatives.contains { comparators in
            guard comparators.allSatisfy({ $0.admits(version) }) else { return false }
            guard version.isPreRelease else { return true }
            let core = version.core
            return comparators.contains { !$0.synthetic && $0.version.isPreRelease && $0.version.core == core }
        }
    }

    /// Every version the range's comparators name: between two of them (and
    /// at each), whether a release version lies in the range cannot change,
    /// which is what lets a router index ranges by these boundaries.
    public var boundaries: [SemanticVersion] { alternatives.flatMap { $0.map(\.version) } }

    /// Whether a release version (no pre-release tag) lies in the range, given
    /// only `order(boundary)`: its precedence against each of `boundaries`
    /// (negative, zero, positive). The same answer as `contains` for release
    /// versions.
    public func containsRelease(orderedBy order: (SemanticVersion) -> Int) -> Bool {
        alternatives.contains { comparators in
            comparators.allSatisfy { comparator in
                let sign = order(comparator.version)
                switch comparator.op {
                case .lessThan: return sign < 0
                case .lessOrEqual: return sign <= 0
                case .greaterThan: return sign > 0
                case .greaterOrEqual: return sign >= 0
                case .equal: return sign == 0
                }
            }
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.text == rhs.text }
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }

    // MARK: Parsing

    /// Splits an alternative into tokens, joining a lone operator to the version
    /// after it (`>= 2.1` reads as `>=2.1`).
    static func tokens(_ part: Substring) -> [String] {
        var tokens: [String] = []
        var pendingOperator: String?
        for word in part.split(separator: " ") {
            if ["<", "<=", ">", ">=", "=", "^", "~"].contains(word) {
                pendingOperator = (pendingOperator ?? "") + word
                continue
            }
            tokens.append((pendingOperator ?? "") + word)
            pendingOperator = nil
        }
        if let pendingOperator { tokens.append(pendingOperator) }
        return tokens
    }

    /// A version with some trailing parts wildcarded (`1.2`, `1.x`, `*`).
    struct Partial {
        var major: UInt64?
        var minor: UInt64?
        var patch: UInt64?
        var full: SemanticVersion?

        var lowest: SemanticVersion { full ?? SemanticVersion(major ?? 0, minor ?? 0, patch ?? 0) }
    }

    static func parsePartial(_ token: Substring) throws(ProtocolError) -> Partial {
        var text = token
        if text.first == "v" || text.first == "V" { text = text.dropFirst() }
        guard !text.isEmpty else { throw ProtocolError("expected a version after \"\(token)\"") }
        if case .success(let version) = SemanticVersion.parse(text) {
            return Partial(major: version.major, minor: version.minor, patch: version.patch, full: version)
        }
        if text.contains("-") || text.contains("+") {
            // A pre-release or build needs the whole MAJOR.MINOR.PATCH before it.
            if case .failure(let failure) = SemanticVersion.parse(text) {
                throw ProtocolError("\"\(token)\": \(failure.reason)")
            }
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 3 else { throw ProtocolError("\"\(token)\" is not a version") }
        var numbers: [UInt64?] = []
        var sawWildcard = false
        for part in parts {
            if part == "x" || part == "X" || part == "*" {
                sawWildcard = true
                numbers.append(nil)
                continue
            }
            guard !sawWildcard else { throw ProtocolError("\"\(token)\": nothing may follow a wildcard but wildcards") }
            guard !part.isEmpty, part.utf8.allSatisfy(SemanticVersion.isDigit) else {
                throw ProtocolError("\"\(token)\" is not a version")
            }
            guard part == "0" || part.first != "0" else { throw ProtocolError("\"\(token)\" has a leading zero") }
            guard let value = UInt64(part) else { throw ProtocolError("\"\(token)\" is too large") }
            numbers.append(value)
        }
        while numbers.count < 3 { numbers.append(nil) }
        return Partial(major: numbers[0], minor: numbers[1], patch: numbers[2], full: nil)
    }

    static func desugar(_ tokens: [String]) throws(ProtocolError) -> [Comparator] {
        if tokens.count == 3, tokens[1] == "-" {
            return try hyphen(Substring(tokens[0]), Substring(tokens[2]))
        }
        if tokens.contains("-") { throw ProtocolError("a hyphen range is written A - B, alone in its alternative") }
        var comparators: [Comparator] = []
        for token in tokens {
            comparators += try desugar(token: Substring(token))
        }
        return comparators
    }

    /// The exclusive bound just below every pre-release of `version`: `<2.0.0-0`.
    static func below(_ major: UInt64, _ minor: UInt64, _ patch: UInt64) -> Comparator {
        Comparator(
            op: .lessThan, version: SemanticVersion(major, minor, patch, preRelease: [.numeric(0)]), synthetic: true)
    }

    static func atLeast(_ version: SemanticVersion, synthetic: Bool = false) -> Comparator {
        Comparator(op: .greaterOrEqual, version: version, synthetic: synthetic)
    }

    /// The first version past the span a partial covers (`1.2` → below 1.3.0),
    /// or nil when the partial is open-ended or the next number would overflow.
    static func upperOfSpan(_ partial: Partial) -> Comparator? {
        guard let major = partial.major else { return nil }
        guard let minor = partial.minor else {
            return major == .max ? nil : below(major + 1, 0, 0)
        }
        return minor == .max ? nil : below(major, minor + 1, 0)
    }

    static func desugar(token: Substring) throws(ProtocolError) -> [Comparator] {
        let operators = ["<=", ">=", "<", ">", "=", "^", "~"]
        let op = operators.first { token.hasPrefix($0) } ?? ""
        let partial = try parsePartial(token.dropFirst(op.count))
        let isWildcard = partial.major == nil
        switch op {
        case "", "=":
            if let full = partial.full { return [Comparator(op: .equal, version: full, synthetic: false)] }
            if isWildcard { return [] }
            return [atLeast(partial.lowest, synthetic: true)] + (upperOfSpan(partial).map { [$0] } ?? [])
        case ">":
            if let full = partial.full { return [Comparator(op: .greaterThan, version: full, synthetic: false)] }
            if isWildcard { throw ProtocolError("\"\(token)\" can never match") }
            guard let next = upperOfSpan(partial) else { throw ProtocolError("\"\(token)\" can never match") }
            return [atLeast(next.version.core, synthetic: true)]
        case ">=":
            if let full = partial.full { return [atLeast(full)] }
            return isWildcard ? [] : [atLeast(partial.lowest, synthetic: true)]
        case "<":
            if let full = partial.full { return [Comparator(op: .lessThan, version: full, synthetic: false)] }
            if isWildcard { throw ProtocolError("\"\(token)\" can never match") }
            // `<1.2` is below every 1.2.x, pre-releases included.
            return [below(partial.major ?? 0, partial.minor ?? 0, 0)]
        case "<=":
            if let full = partial.full { return [Comparator(op: .lessOrEqual, version: full, synthetic: false)] }
            if isWildcard { return [] }
            return upperOfSpan(partial).map { [$0] } ?? []
        case "~":
            if isWildcard { return [] }
            let lower = atLeast(partial.lowest, synthetic: partial.full == nil)
            let spanOfMinor = Partial(major: partial.major, minor: partial.minor, patch: nil, full: nil)
            return [lower] + (upperOfSpan(spanOfMinor).map { [$0] } ?? [])
        case "^":
            if isWildcard { return [] }
            let lower = atLeast(partial.lowest, synthetic: partial.full == nil)
            let major = partial.major ?? 0
            var upper: Comparator?
            if major > 0 || partial.minor == nil {
                upper = major == .max ? nil : below(major + 1, 0, 0)
            } else if let minor = partial.minor, minor > 0 || partial.patch == nil {
                upper = minor == .max ? nil : below(0, minor + 1, 0)
            } else if let patch = partial.patch {
                upper = patch == .max ? nil : below(0, 0, patch + 1)
            }
            return [lower] + (upper.map { [$0] } ?? [])
        default:
            preconditionFailure("operator list and switch disagree")
        }
    }

    static func hyphen(_ from: Substring, _ to: Substring) throws(ProtocolError) -> [Comparator] {
        let lower = try parsePartial(from)
        let upper = try parsePartial(to)
        var comparators: [Comparator] = []
        if lower.major != nil { comparators.append(atLeast(lower.lowest, synthetic: lower.full == nil)) }
        if let full = upper.full {
            comparators.append(Comparator(op: .lessOrEqual, version: full, synthetic: false))
        } else if let bound = upperOfSpan(upper) {
            comparators.append(bound)
        }
        return comparators
    }

    /// Describes why no version satisfies all of `comparators`, or nil if some does.
    static func contradiction(in comparators: [Comparator]) -> String? {
        var lower: Comparator?
        var upper: Comparator?
        for comparator in comparators {
            switch comparator.op {
            case .greaterThan, .greaterOrEqual, .equal:
                let candidate =
                    comparator.op == .equal
                    ? Comparator(op: .greaterOrEqual, version: comparator.version, synthetic: comparator.synthetic)
                    : comparator
                if let current = lower {
                    let order = candidate.version.precedence(comparedTo: current.version)
                    if order > 0 || (order == 0 && candidate.op == .greaterThan) { lower = candidate }
                } else {
                    lower = candidate
                }
            default:
                break
            }
            switch comparator.op {
            case .lessThan, .lessOrEqual, .equal:
                let candidate =
                    comparator.op == .equal
                    ? Comparator(op: .lessOrEqual, version: comparator.version, synthetic: comparator.synthetic)
                    : comparator
                if let current = upper {
                    let order = candidate.version.precedence(comparedTo: current.version)
                    if order < 0 || (order == 0 && candidate.op == .lessThan) { upper = candidate }
                } else {
                    upper = candidate
                }
            default:
                break
            }
        }
        guard let upper else { return nil }
        let floor =
            lower
            ?? Comparator(
                op: .greaterOrEqual, version: SemanticVersion(0, 0, 0, preRelease: [.numeric(0)]), synthetic: true)
        let order = floor.version.precedence(comparedTo: upper.version)
        if order > 0 || (order == 0 && (floor.op == .greaterThan || upper.op == .lessThan)) {
            if lower == nil { return "nothing is below \(upper.op.rawValue)\(upper.version)" }
            return
                "lower bound \(floor.op.rawValue)\(floor.version) is not below upper bound \(upper.op.rawValue)\(upper.version)"
        }
        return nil
    }
}
