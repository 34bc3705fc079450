/// New W3C `traceparent` values, one event loop's worth: xoshiro256** seeded
/// from the system's random source. Trace ids must be unpredictable enough not
/// to collide, not secret; a `getrandom` syscall per request (what
/// `SystemRandomNumberGenerator` does) cost 6 % of a sidecar's CPU under load.
/// Used by one event loop only.
public final class TraceIDGenerator {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init() {
        var system = SystemRandomNumberGenerator()
        state = (system.next(), system.next(), system.next(), system.next() | 1)
    }

    func next() -> UInt64 {
        func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
        let result = rotate(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotate(state.3, 45)
        return result
    }

    /// A number in `0..<bound` (bound > 0), for random splits: not a secret.
    public func random(below bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    /// `00-<32 hex trace id>-<16 hex parent id>-01`, ids never all zero.
    public func traceParent() -> String {
        let high = next()
        let low = next() | 1
        let span = next() | 1
        return String(unsafeUninitializedCapacity: 55) { buffer in
            let digits: StaticString = "0123456789abcdef"
            var index = 0
            func put(_ byte: UInt8) {
                buffer[index] = byte
                index += 1
            }
            func hex(_ value: UInt64) {
                for shift in stride(from: 60, through: 0, by: -4) {
                    put(digits.utf8Start[Int((value >> UInt64(shift)) & 0xF)])
                }
            }
            put(UInt8(ascii: "0"))
            put(UInt8(ascii: "0"))
            put(UInt8(ascii: "-"))
            hex(high)
            hex(low)
            put(UInt8(ascii: "-"))
            hex(span)
            put(UInt8(ascii: "-"))
            put(UInt8(ascii: "0"))
            put(UInt8(ascii: "1"))
            return index
        }
    }
}

@available(*, unavailable)
extension TraceIDGenerator: Sendable {}
