import WeftProtocol

/// A set of rule positions, one bit each.
struct RuleSet: Hashable, Sendable {
    var words: [UInt64]

    init(count: Int, all: Bool) {
        words = Array(repeating: all ? ~0 : 0, count: (count + 63) / 64)
        // No bit past the last rule: a walk of the set must never yield one.
        if all && count % 64 != 0 { words[words.count - 1] = (1 << UInt64(count % 64)) - 1 }
    }

    mutating func remove(_ position: Int) {
        words[position >> 6] &= ~(1 << UInt64(position & 63))
    }
}

/// Narrows a table's rules by the header a request carries before any rule is
/// tried: the rules that could still take it. Built once per snapshot for the
/// header most rules test by exact value (`x-terminal-type: kiosk`) and the one
/// most test by version range (`x-firmware-version: >=2.1.0 <3`), each when at
/// least `minimumRules` rules do. A rule the filter cannot judge (it tests the
/// header another way, or not at all) is always kept: the filter only removes
/// rules that certainly fail, and every kept rule is still matched whole, so
/// precedence and results are exactly the unindexed table's.
struct RuleFilter: Sendable {
    static let minimumRules = 8
    /// Past this many distinct versions named by the ranges, the version index
    /// is not built (its sets would take regions × rules bits, and its build
    /// time grows the same way): the table is matched as before, rule by rule.
    static let maximumBoundaries = 2048

    /// Rules whose one exact value for the header is the key; all others are
    /// in every set.
    struct ExactIndex: Sendable {
        let name: String
        let slot: Int
        /// Keyed by substring, so a request's value looks up without a copy.
        /// (String equality is canonical equivalence, at least as loose as the
        /// byte equality rules match by: the set is never too small.)
        let byValue: [Substring: RuleSet]
        /// For a value no rule names, or no header: the rules without an exact
        /// condition on it.
        let otherwise: RuleSet
    }

    /// Rules by where a release version falls among the versions their ranges
    /// name: region 2i + 1 is `boundaries[i]` itself, region 2i the versions
    /// between `boundaries[i - 1]` and it. Regions share their sets.
    struct VersionIndex: Sendable {
        let name: String
        let slot: Int
        let boundaries: [SemanticVersion]
        let regionSet: [Int]
        let sets: [RuleSet]
        /// No header, or one that does not parse: rules without a version
        /// condition on it.
        let otherwise: RuleSet

        func set(for version: SemanticVersion) -> RuleSet? {
            // A pre-release version matches by rules the boundaries do not
            // capture (it must be named by the range): not filtered.
            guard !version.isPreRelease else { return nil }
            var low = 0
            var high = boundaries.count
            while low < high {
                let middle = (low + high) / 2
                let order = version.precedence(comparedTo: boundaries[middle])
                if order == 0 { return sets[regionSet[2 * middle + 1]] }
                if order < 0 { high = middle } else { low = middle + 1 }
            }
            return sets[regionSet[2 * low]]
        }
    }

    let exact: ExactIndex?
    let version: VersionIndex?

    var isEmpty: Bool { exact == nil && version == nil }

    init(_ rules: [RouteRule], slots: [String: Int]) {
        exact = Self.exactIndex(rules, slots: slots)
        version = Self.versionIndex(rules, slots: slots)
    }

    /// The rules `request` may still match: those in both sets (either may be
    /// absent: not filtered by that header). Nothing is copied.
    struct Candidates {
        let first: RuleSet?
        let second: RuleSet?

        @inline(__always)
        func word(_ index: Int) -> UInt64 {
            (first?.words[index] ?? ~0) & (second?.words[index] ?? ~0)
        }

        func contains(_ position: Int) -> Bool {
            word(position >> 6) & (1 << UInt64(position & 63)) != 0
        }

        var count: Int {
            let words = (first ?? second)?.words.count ?? 0
            return (0..<words).reduce(0) { $0 + word($1).nonzeroBitCount }
        }

        /// Each position, in order, until `body` returns true.
        func visit(until body: (Int) -> Bool) {
            let words = (first ?? second)?.words.count ?? 0
            for index in 0..<words {
                var rest = word(index)
                while rest != 0 {
                    if body(index << 6 | rest.trailingZeroBitCount) { return }
                    rest &= rest - 1
                }
            }
        }
    }

    /// The rules `request` may still match; nil when nothing is filtered.
    func candidates(_ request: GatewayRequest, _ cache: inout HeaderCache) -> Candidates? {
        var first: RuleSet?
        var second: RuleSet?
        if let exact {
            let value = cache.value(exact.slot, exact.name, in: request)
            first = value.flatMap { exact.byValue[$0] } ?? exact.otherwise
        }
        if let version {
            let parsed = cache.version(version.slot, version.name, in: request)
            second = parsed.map { version.set(for: $0) } ?? version.otherwise
        }
        guard first != nil || second != nil else { return nil }
        return Candidates(first: first, second: second)
    }

    private static func exactIndex(_ rules: [RouteRule], slots: [String: Int]) -> ExactIndex? {
        // The header the most rules test by one exact value.
        var counts: [String: Int] = [:]
        for rule in rules {
            for name in Set(
                rule.match.headers.compactMap {
                    Self.exactValue($0.name.rawValue, in: rule) != nil ? $0.name.rawValue : nil
                })
            {
                counts[name, default: 0] += 1
            }
        }
        guard let (name, count) = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }),
            count >= minimumRules, let slot = slots[name]
        else { return nil }
        var otherwise = RuleSet(count: rules.count, all: true)
        var values: [Substring: [Int]] = [:]
        for (position, rule) in rules.enumerated() {
            guard let value = Self.exactValue(name, in: rule) else { continue }
            otherwise.remove(position)
            values[Substring(value), default: []].append(position)
        }
        var byValue: [Substring: RuleSet] = [:]
        for (value, positions) in values {
            var set = otherwise
            for position in positions { set.words[position >> 6] |= 1 << UInt64(position & 63) }
            byValue[value] = set
        }
        return ExactIndex(name: name, slot: slot, byValue: byValue, otherwise: otherwise)
    }

    /// The value a rule requires of `name` when its only condition on it is
    /// one exact value.
    private static func exactValue(_ name: String, in rule: RouteRule) -> String? {
        let conditions = rule.match.headers.filter { $0.name.rawValue == name }
        guard conditions.count == 1, case .exact(let value) = conditions[0].match else { return nil }
        return value
    }

    private static func versionIndex(_ rules: [RouteRule], slots: [String: Int]) -> VersionIndex? {
        var counts: [String: Int] = [:]
        for rule in rules {
            for name in Set(
                rule.match.headers.compactMap { header -> String? in
                    if case .version = header.match { return header.name.rawValue }
                    return nil
                })
            {
                counts[name, default: 0] += 1
            }
        }
        guard let (name, count) = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }),
            count >= minimumRules, let slot = slots[name]
        else { return nil }
        // Each rule's ranges on the header (all must hold), or nil: not judged.
        let ranges: [[VersionRange]?] = rules.map { rule in
            let conditions = rule.match.headers.filter { $0.name.rawValue == name }
            var ranges: [VersionRange] = []
            for condition in conditions {
                guard case .version(let range) = condition.match else { return nil }
                ranges.append(range)
            }
            return ranges.isEmpty ? nil : ranges
        }
        var boundaries = ranges.compactMap { $0 }.flatMap { $0.flatMap(\.boundaries) }
        boundaries.sort { $0.precedence(comparedTo: $1) < 0 }
        var distinct: [SemanticVersion] = []
        for boundary in boundaries where distinct.last.map({ $0.precedence(comparedTo: boundary) != 0 }) ?? true {
            distinct.append(boundary)
        }
        guard distinct.count <= maximumBoundaries else { return nil }
        var otherwise = RuleSet(count: rules.count, all: true)
        for (position, judged) in ranges.enumerated() where judged != nil { otherwise.remove(position) }
        let regionCount = 2 * distinct.count + 1
        var regions = Array(repeating: otherwise, count: regionCount)
        for (position, judged) in ranges.enumerated() {
            guard let judged else { continue }
            // A rule's answer changes only at the versions it names itself:
            // judge it once per run of regions between them.
            let own = Set(judged.flatMap(\.boundaries).map { Self.position(of: $0, in: distinct) }).sorted()
            let points = own.map { 2 * $0 + 1 }
            var runs: [(ClosedRange<Int>, probe: Int)] = []
            var start = 0
            for point in points {
                if start <= point - 1 { runs.append((start...(point - 1), point - 1)) }
                runs.append((point...point, point))
                start = point + 1
            }
            if start < regionCount { runs.append((start...(regionCount - 1), start)) }
            for (run, probe) in runs {
                let admitted = judged.allSatisfy { range in
                    range.containsRelease { boundary in
                        let index = 2 * Self.position(of: boundary, in: distinct) + 1
                        return probe < index ? -1 : probe == index ? 0 : 1
                    }
                }
                guard admitted else { continue }
                for region in run { regions[region].words[position >> 6] |= 1 << UInt64(position & 63) }
            }
        }
        var sets: [RuleSet] = []
        var setIndex: [RuleSet: Int] = [:]
        var regionSet: [Int] = []
        for set in regions {
            if let existing = setIndex[set] {
                regionSet.append(existing)
            } else {
                setIndex[set] = sets.count
                regionSet.append(sets.count)
                sets.append(set)
            }
        }
        return VersionIndex(
            name: name, slot: slot, boundaries: distinct, regionSet: regionSet, sets: sets, otherwise: otherwise)
    }

    private static func position(of version: SemanticVersion, in sorted: [SemanticVersion]) -> Int {
        var low = 0
        var high = sorted.count - 1
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle].precedence(comparedTo: version) < 0 { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
