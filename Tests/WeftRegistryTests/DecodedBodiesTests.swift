import Foundation
import Testing

@testable import WeftAPIServer

/// The memo of decoded request bodies stays bounded whatever callers send.
struct DecodedBodiesTests {
    @Test func keepsAtMostItsCapacityAndNothingOverFourKiB() {
        let memo = DecodedBodies<Int>(capacity: 3)
        for number in 0..<3 { memo.remember(number, for: Data("body \(number)".utf8)) }
        #expect(memo.value(for: Data("body 2".utf8)) == 2)
        // A fourth distinct body starts over rather than growing.
        memo.remember(3, for: Data("body 3".utf8))
        #expect(memo.value(for: Data("body 0".utf8)) == nil)
        #expect(memo.value(for: Data("body 3".utf8)) == 3)
        // A body over 4 KiB is never kept (nor looked up).
        let large = Data(repeating: 0x61, count: 4_097)
        memo.remember(9, for: large)
        #expect(memo.value(for: large) == nil)
        #expect(memo.count == 1)
    }
}
