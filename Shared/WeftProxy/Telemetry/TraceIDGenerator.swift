/// New W3C `traceparent` values, one event loop's worth, from the loop's
/// `FastRandom`: trace ids must be unpredictable enough not to collide, not
/// secret. Used by one event loop only.
public final class TraceIDGenerator {
    private var random: FastRandom

    public init() {
        random = FastRandom()
    }

    func next() -> UInt64 {
        random.next()
    }

    /// A number in `0..<bound` (bound > 0), for random splits: not a secret.
    public func random(below bound: Int) -> Int {
        random.below(bound)
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
