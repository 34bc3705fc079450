/// A W3C `traceparent` (Trace Context level 1) taken apart: the trace, the
/// caller's span, whether the trace is sampled.
///
/// A proxy that records a span for a request takes the incoming context's span
/// as its span's parent and passes its own span on in the `traceparent` it sends,
/// so each hop's span is the child of the one before it.
public struct TraceContext: Equatable, Sendable {
    public var traceHigh: UInt64
    public var traceLow: UInt64
    /// The caller's span, the parent of the one a proxy records.
    public var spanID: UInt64
    public var sampled: Bool

    public init(traceHigh: UInt64, traceLow: UInt64, spanID: UInt64, sampled: Bool) {
        self.traceHigh = traceHigh
        self.traceLow = traceLow
        self.spanID = spanID
        self.sampled = sampled
    }

    /// `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`, lowercase, ids not
    /// all zero, version not `ff`; nil for anything else (a future version's
    /// longer value included: this proxy then starts a trace of its own, as the
    /// specification allows).
    public init?(_ value: String) {
        var value = value
        guard let parsed = value.withUTF8({ Self.parse($0) }) else { return nil }
        self = parsed
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> TraceContext? {
        guard bytes.count == 55, bytes[0] == UInt8(ascii: "0"), bytes[1] == UInt8(ascii: "0"),
            bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-")
        else { return nil }
        func hex(_ range: Range<Int>) -> UInt64? {
            var value: UInt64 = 0
            for index in range {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                default: return nil
                }
                value = value << 4 | UInt64(digit)
            }
            return value
        }
        guard let high = hex(3..<19), let low = hex(19..<35), let span = hex(36..<52), let flags = hex(53..<55),
            high | low != 0, span != 0
        else { return nil }
        return TraceContext(traceHigh: high, traceLow: low, spanID: span, sampled: flags & 1 == 1)
    }

    /// The `traceparent` value for this context.
    public var header: String {
        String(unsafeUninitializedCapacity: 55) { buffer in
            let digits: StaticString = "0123456789abcdef"
            var index = 0
            func put(_ byte: UInt8) {
                buffer[index] = byte
                index += 1
            }
            func hex(_ value: UInt64, digits count: Int) {
                for shift in stride(from: (count - 1) * 4, through: 0, by: -4) {
                    put(digits.utf8Start[Int((value >> UInt64(shift)) & 0xF)])
                }
            }
            put(UInt8(ascii: "0"))
            put(UInt8(ascii: "0"))
            put(UInt8(ascii: "-"))
            hex(traceHigh, digits: 16)
            hex(traceLow, digits: 16)
            put(UInt8(ascii: "-"))
            hex(spanID, digits: 16)
            put(UInt8(ascii: "-"))
            hex(sampled ? 1 : 0, digits: 2)
            return index
        }
    }
}
