public import NIOCore
public import WeftHTTP2
import WeftProtocol

/// A request's deadline as it travels: what the caller asked for (`grpc-timeout`,
/// or Weft's `x-weft-deadline-ms` between proxies and from applications), capped
/// by the route's timeout, and written again on the way out with what is left,
/// so every hop sees a shorter one.
public enum Deadline {
    /// The budget a request arrives with, from its headers: the smaller of
    /// `x-weft-deadline-ms` and `grpc-timeout`; nil when neither is valid.
    public static func requested(in headers: [HTTP2Header]) -> TimeAmount? {
        var result: TimeAmount?
        for header in headers {
            let amount: TimeAmount?
            switch header.name {
            case WeftHeaders.deadline: amount = milliseconds(header.value)
            case WeftHeaders.grpcTimeout: amount = grpcTimeout(header.value)
            default: continue
            }
            if let amount, result.map({ amount < $0 }) ?? true { result = amount }
        }
        return result
    }

    /// The longest deadline a header can ask for (a year): longer ones are
    /// read as this.
    public static let maximum = TimeAmount.hours(24 * 366)

    /// `x-weft-deadline-ms`: 1 to 10 decimal digits of milliseconds.
    static func milliseconds(_ value: String) -> TimeAmount? {
        guard (1...10).contains(value.utf8.count), value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            let number = Int64(value)
        else { return nil }
        return .milliseconds(number)
    }

    /// gRPC's `grpc-timeout`: 1 to 8 digits and a unit (H, M, S, m, u, n).
    public static func grpcTimeout(_ value: String) -> TimeAmount? {
        let bytes = Array(value.utf8)
        guard (2...9).contains(bytes.count) else { return nil }
        let digits = bytes.dropLast()
        guard digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        var number: Int64 = 0
        for digit in digits { number = number * 10 + Int64(digit - 48) }
        let unit: Int64
        switch bytes.last! {
        case UInt8(ascii: "H"): unit = 3_600_000_000_000
        case UInt8(ascii: "M"): unit = 60_000_000_000
        case UInt8(ascii: "S"): unit = 1_000_000_000
        case UInt8(ascii: "m"): unit = 1_000_000
        case UInt8(ascii: "u"): unit = 1_000
        case UInt8(ascii: "n"): unit = 1
        default: return nil
        }
        // 99999999H is 3.6 × 10^20 ns, past Int64: a caller's header must never
        // trap the proxy, so anything beyond a year counts as a year.
        let (nanoseconds, overflow) = number.multipliedReportingOverflow(by: unit)
        return .nanoseconds(overflow ? maximum.nanoseconds : min(nanoseconds, maximum.nanoseconds))
    }

    /// `grpc-timeout` for what is left: milliseconds while they fit in 8
    /// digits, else seconds.
    public static func grpcTimeoutValue(_ left: TimeAmount) -> String {
        let milliseconds = max(0, left.nanoseconds / 1_000_000)
        if milliseconds < 100_000_000 { return "\(milliseconds)m" }
        return "\(min(milliseconds / 1000, 99_999_999))S"
    }

    /// The headers with both deadline fields set to what is `left` (gRPC's only
    /// for gRPC calls): whatever the caller sent under those names goes.
    public static func rewrite(_ headers: [HTTP2Header], left: TimeAmount, grpc: Bool) -> [HTTP2Header] {
        // One allocation: the copy every attempt needs anyway, sized for the two.
        var result: [HTTP2Header] = []
        result.reserveCapacity(headers.count + 2)
        for header in headers where header.name != WeftHeaders.deadline && header.name != WeftHeaders.grpcTimeout {
            result.append(header)
        }
        result.append(HTTP2Header(WeftHeaders.deadline, String(max(0, left.nanoseconds / 1_000_000))))
        if grpc { result.append(HTTP2Header(WeftHeaders.grpcTimeout, grpcTimeoutValue(left))) }
        return result
    }
}
