/// A point in time on the wire, as RFC 3339 in UTC (`2026-11-21T05:06:10Z`), with
/// second resolution. Parsing accepts fractional seconds and numeric offsets and
/// normalises to UTC; printing is always the `Z` form.
///
/// Its own type (rather than Foundation's `Date` with a formatter) keeps the wire
/// form exact and the errors precise.
public struct Timestamp: StringValidated, Hashable, Comparable, Sendable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let secondsSinceEpoch: Int64

    public init(secondsSinceEpoch: Int64) {
        self.secondsSinceEpoch = secondsSinceEpoch
    }

    public init(validating text: String) throws(ProtocolError) {
        func fail(_ reason: String) -> ProtocolError {
            ProtocolError("invalid timestamp \"\(text.prefix(40))\": \(reason)")
        }
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= 40 else { throw fail("expected RFC 3339, like 2026-11-21T05:06:10Z") }
        func number(_ range: Range<Int>) throws(ProtocolError) -> Int {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else {
                    throw fail("expected RFC 3339, like 2026-11-21T05:06:10Z")
                }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        func expect(_ index: Int, _ characters: String) throws(ProtocolError) {
            guard characters.utf8.contains(bytes[index]) else {
                throw fail("expected RFC 3339, like 2026-11-21T05:06:10Z")
            }
        }
        let year = try number(0..<4)
        try expect(4, "-")
        let month = try number(5..<7)
        try expect(7, "-")
        let day = try number(8..<10)
        try expect(10, "Tt")
        let hour = try number(11..<13)
        try expect(13, ":")
        let minute = try number(14..<16)
        try expect(16, ":")
        let second = try number(17..<19)
        guard (1...12).contains(month) else { throw fail("month out of range") }
        guard (1...Self.daysIn(month: month, year: year)).contains(day) else { throw fail("day out of range") }
        guard hour < 24, minute < 60, second < 60 else { throw fail("time of day out of range") }
        var index = 19
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            guard index > start else { throw fail("empty fractional seconds") }
        }
        guard index < bytes.count else { throw fail("missing time zone (Z or ±hh:mm)") }
        var offsetSeconds = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard bytes.count == index + 6 else { throw fail("time zone offset must be ±hh:mm") }
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            let offsetHours = try number(index + 1..<index + 3)
            try expect(index + 3, ":")
            let offsetMinutes = try number(index + 4..<index + 6)
            guard offsetHours < 24, offsetMinutes < 60 else { throw fail("time zone offset out of range") }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
            index += 6
        default:
            throw fail("missing time zone (Z or ±hh:mm)")
        }
        guard index == bytes.count else { throw fail("unexpected text after the time zone") }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        self.secondsSinceEpoch = Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
    }

    public var description: String {
        let days = Int(secondsSinceEpoch.floorDiv(86400))
        let secondOfDay = Int(secondsSinceEpoch - Int64(days) * 86400)
        let (year, month, day) = Self.civilFromDays(days)
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return
            "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))Z"
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.secondsSinceEpoch < rhs.secondsSinceEpoch }

    public func adding(_ duration: WeftDuration) -> Timestamp {
        Timestamp(secondsSinceEpoch: secondsSinceEpoch + duration.milliseconds / 1000)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days, proleptic Gregorian.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146097 + dayOfEra - 719468
    }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let dayOfEra = z - era * 146097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int64 {
    fileprivate func floorDiv(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
