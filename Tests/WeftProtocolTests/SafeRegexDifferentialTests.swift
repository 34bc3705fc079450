import Testing
import WeftProtocol

/// SafeRegex against Swift's own Regex on thousands of random patterns and inputs.
/// On ASCII input without newlines the two engines define the same whole-match
/// language, so any disagreement is a bug in SafeRegex's parser or NFA compiler.
/// Inputs stay short so that the backtracking side stays fast.
@Suite struct SafeRegexDifferentialTests {
    /// A small deterministic generator (SplitMix64), so a failure reproduces.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func pattern(depth: Int, using random: inout Generator) -> String {
        let atoms = ["a", "b", "c", ".", "[ab]", "[^a]", "[a-c]", "\\d", "\\w", "-", "\\-", "[b-]"]
        func atom() -> String {
            if depth > 0 && Int.random(in: 0..<4, using: &random) == 0 {
                let inner = pattern(depth: depth - 1, using: &random)
                return Bool.random(using: &random) ? "(\(inner))" : "(?:\(inner))"
            }
            return atoms.randomElement(using: &random)!
        }
        func quantified() -> String {
            let base = atom()
            switch Int.random(in: 0..<10, using: &random) {
            case 0: return base + "*"
            case 1: return base + "+"
            case 2: return base + "?"
            case 3: return base + "{\(Int.random(in: 0...2, using: &random))}"
            case 4:
                let low = Int.random(in: 0...2, using: &random)
                return base + "{\(low),\(low + Int.random(in: 0...2, using: &random))}"
            case 5: return base + "{\(Int.random(in: 0...2, using: &random)),}"
            case 6: return base + "*?"
            default: return base
            }
        }
        let branches = (0..<Int.random(in: 1...2, using: &random)).map { _ in
            (0..<Int.random(in: 0...3, using: &random)).map { _ in quantified() }.joined()
        }
        return branches.joined(separator: "|")
    }

    @Test func agreesWithSwiftRegexOnRandomPatterns() throws {
        var random = Generator(state: 0x5EED_0F_3EF7)
        let alphabet: [Character] = ["a", "b", "c", "1", "-", "_"]
        var compared = 0
        for _ in 0..<500 {
            let text = Self.pattern(depth: 2, using: &random)
            let safe = try SafeRegex(validating: text)
            let reference = try Regex(text)
            for _ in 0..<12 {
                let input = String(
                    (0..<Int.random(in: 0...6, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
                let expected = (try reference.wholeMatch(in: input)) != nil
                #expect(
                    safe.matches(input) == expected,
                    "pattern \(text) on \(input.debugDescription): Swift Regex says \(expected)")
                compared += 1
            }
        }
        #expect(compared == 6000)
    }

    @Test func agreesOnAnchorsAndAlternation() throws {
        for (text, inputs) in [
            ("^a|b$", ["a", "b", "ab", ""]), ("(^a)*", ["", "a", "aa"]), ("a$|^b", ["a", "b", "ba"]),
            ("(a|ab)(c|bcd)", ["abcd", "ac", "abc"]), ("(a*)+$", ["", "aaa"]),
        ] {
            let safe = try SafeRegex(validating: text)
            let reference = try Regex(text)
            for input in inputs {
                #expect(safe.matches(input) == ((try reference.wholeMatch(in: input)) != nil), "\(text) on \(input)")
            }
        }
    }
}
