import Testing
import WeftProtocol

@Suite struct SafeRegexTests {
    @Test(arguments: [
        ("(", "missing ')'"),
        ("a)", "unmatched ')'"),
        ("*a", "nothing to repeat"),
        ("a**", "a quantifier cannot follow a quantifier"),
        ("a{2}{3}", "a quantifier cannot follow a quantifier"),
        ("a{3,2}", "maximum below its minimum"),
        ("a{1001}", "repetition count above 1000"),
        ("[a-", "missing ']'"),
        ("[z-a]", "out of order"),
        ("[]", "missing ']'"),
        ("\\", "trailing backslash"),
        ("\\x41", "unsupported escape \\x"),
        ("\\b", "unsupported escape \\b"),
        ("(a)\\1", "backreference"),
        ("(?i)abc", "flags, named groups and look-around are not supported"),
        ("(?=a)", "look-around"),
        ("(?P<name>a)", "named groups"),
        ("[[:alpha:]]", "POSIX classes"),
        ("[é]", "non-ASCII character in a class"),
        ("^*", "nothing to repeat"),
        ("((a{100}){100}){100}", "pattern too complex"),
    ])
    func refusesPatternsItCannotRunSafely(pattern: String, reason: String) {
        expectInvalid(SafeRegex.self, pattern, reason)
    }

    @Test func refusesDeeplyNestedGroups() {
        let deep = String(repeating: "(", count: 65) + "a" + String(repeating: ")", count: 65)
        expectInvalid(SafeRegex.self, deep, "nested deeper than 64")
        let fine = String(repeating: "(", count: 64) + "a" + String(repeating: ")", count: 64)
        #expect((try? SafeRegex(validating: fine))?.matches("a") == true)
    }

    @Test func refusesPatternsLongerThanTheLimit() {
        expectInvalid(SafeRegex.self, String(repeating: "a", count: 1025), "longer than 1024")
    }

    // (pattern, whole values that match, values that do not)
    static let cases: [(String, [String], [String])] = [
        ("abc", ["abc"], ["ab", "abcd", "xabc", ""]),
        ("v2", ["v2"], ["v22"]),
        ("v2.*", ["v2", "v22", "v2.1.0"], ["v1"]),
        ("a|b|cd", ["a", "b", "cd"], ["c", "ab"]),
        ("(ab)+", ["ab", "abab"], ["", "aba"]),
        ("(?:ab)*c", ["c", "ababc"], ["abc c"]),
        ("colou?r", ["color", "colour"], ["colouur"]),
        ("a{2,3}", ["aa", "aaa"], ["a", "aaaa"]),
        ("a{2,}", ["aa", "aaaaaa"], ["a"]),
        ("a{0}b", ["b"], ["ab"]),
        ("[a-c]+[^0-9]", ["abx", "cc!"], ["ab1", "d!"]),
        ("[\\d-]+", ["12-34"], ["12a"]),
        ("\\d{3}-\\w+\\s\\S", ["123-ab_9 x"], ["12-ab x"]),
        ("[]a]+", ["]a]"], ["b"]),
        ("a.c", ["abc", "a.c"], ["a\nc"]),
        ("\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\\\\\/", [".*+?()[]{}|^$\\/"], [""]),
        ("^/api/v[0-9]+/users$", ["/api/v12/users"], ["/api/v/users", "/api/v1/users/"]),
        ("a{", ["a{"], ["a"]),
        ("é+", ["é", "ééé"], ["e", ""]),
        ("(a*)*b", ["b", "aaab"], ["aaa"]),
        ("(|a)+", ["", "aaa"], ["b"]),
        ("x*?y", ["xxy", "y"], ["xx"]),
        ("(kiosk|pos)-(v[12])", ["kiosk-v1", "pos-v2"], ["kiosk-v3"]),
    ]

    @Test(arguments: cases)
    func matchesWholeValues(pattern: String, matching: [String], notMatching: [String]) throws {
        let regex = try SafeRegex(validating: pattern)
        for value in matching { #expect(regex.matches(value), "\(pattern) should match \(value.debugDescription)") }
        for value in notMatching {
            #expect(!regex.matches(value), "\(pattern) should not match \(value.debugDescription)")
        }
    }

    @Test func catastrophicBacktrackingPatternsStayLinear() throws {
        // For a backtracking engine these take exponential time on a near-miss input;
        // here each is one pass. The input is large enough that exponential behaviour
        // would never finish: such a regression fails at the time limit (a pass
        // takes milliseconds) rather than hanging the run.
        let nearMiss = String(repeating: "a", count: 5000) + "!"
        for pattern in ["(a+)+$", "(a|aa)+", "(a|a?)+b", "(.*a){20}", "(a*)*b"] {
            let regex = try SafeRegex(validating: pattern)
            let matched = finishing(within: 60) { regex.matches(nearMiss) }
            #expect(matched == false, "\(pattern): \(matched.map { "\($0)" } ?? "still running after 60 s")")
        }
    }
}
