/// A span of time in configuration, written like Go and Consul do: `250ms`, `1.5s`,
/// `30s`, `5m`, `1h30m`. Millisecond resolution; never negative.
///
/// Printed in the largest unit that represents it exactly, so `90s` reads back as
/// `90s` and `1500ms` as `1500ms`.
public struct WeftDuration: StringValidated, Hashable, Comparable, Sendable {
    public let milliseconds: Int64

    /// The longest duration Weft accepts anywhere: 366 days.
    public static let maximum = WeftDuration(milliseconds: 366 * 24 * 3_600_000)

    public init(milliseconds: Int64) {
        precondition(milliseconds >= 0, "durations are never negative")
        self.milliseconds = milliseconds
    }

    public static func seconds(_ seconds: Int64) -> WeftDuration { WeftDuration(milliseconds: seconds * 1000) }
    public static func milliseconds(_ ms: Int64) -> WeftDuration { WeftDuration(milliseconds: ms) }

    public init(validating text: String) throws(ProtocolError) {
        func fail(_ reason: String) -> ProtocolError {
            ProtocolError("invalid duration \"\(text.prefix(40))\": \(reason)")
        }
        guard !text.isEmpty else { throw fail("must not be empty") }
        guard text.utf8.count <= 32 else { throw fail("too long") }
        if text.hasPrefix("-") { throw fail("must not be negative") }
        var total: Double = 0
        var rest = Substring(text)
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1, number.first != ".", number.last != ".",
                let value = Double(number)
            else { throw fail("expected a number followed by a unit (ms, s, m, h)") }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ms": scale = 1
            case "s": scale = 1000
            case "m": scale = 60_000
            case "h": scale = 3_600_000
            case "": throw fail("missing unit after \(number); use ms, s, m or h")
            default: throw fail("unknown unit \"\(unit)\"; use ms, s, m or h")
            }
            total += value * scale
        }
        guard total <= Double(Self.maximum.milliseconds) else { throw fail("longer than 366 days") }
        let rounded = total.rounded()
        guard rounded == total else { throw fail("finer than a millisecond") }
        self.milliseconds = Int64(rounded)
    }

    public var description: String {
        let ms = milliseconds
        if ms == 0 { return "0s" }
        if ms % 3_600_000 == 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }

    public var seconds: Double { Double(milliseconds) / 1000 }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// Validates that this duration lies in `range`, for a field's own bounds.
    func check(in range: ClosedRange<WeftDuration>, field: String) throws(ProtocolError) {
        guard range.contains(self) else {
            throw ProtocolError(
                field: field, "must be between \(range.lowerBound) and \(range.upperBound), got \(self)")
        }
    }
}
