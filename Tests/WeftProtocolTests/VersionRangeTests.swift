import Testing
import WeftProtocol

@Suite struct VersionRangeTests {
    @Test(arguments: [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        (">=1.0.0 ||", "alternative 2 is empty"),
        ("|| 1.0.0", "alternative 1 is empty"),
        (">=3.0.0 <2.0.0", "can never match"),
        (">2.0.0 <2.0.0", "can never match"),
        (">=2.0.0 <2.0.0", "can never match"),
        ("=1.0.0 =2.0.0", "can never match"),
        ("1.0.0 || >=3.0.0 <2.0.0", "alternative 2 (>=3.0.0 <2.0.0) can never match"),
        ("<0.0.0-0", "nothing is below"),
        (">*", "can never match"),
        ("<*", "can never match"),
        ("1.x.3", "nothing may follow a wildcard"),
        ("1.2.3.4", "is not a version"),
        (">=01.0.0", "leading zero"),
        ("^1.2-beta", "expected MAJOR.MINOR.PATCH"),
        ("1.2.3 - ", "a hyphen range is written A - B"),
        ("1.0.0 - 2.0.0 - 3.0.0", "a hyphen range is written A - B"),
        (">= ", "expected a version"),
        ("~>1.2", "is not a version"),
        ("latest", "is not a version"),
    ])
    func refusesEmptyMalformedAndContradictoryRanges(text: String, reason: String) {
        expectInvalid(VersionRange.self, text, reason)
    }

    @Test func refusesRangesLongerThanTheLimit() {
        let huge = Array(repeating: ">=1.0.0", count: 200).joined(separator: " ")
        expectInvalid(VersionRange.self, huge, "longer than 1024")
    }

    // (range, versions inside, versions outside)
    static let cases: [(String, [String], [String])] = [
        (">=2.1.0 <3.0.0", ["2.1.0", "2.9.9", "2.1.0+build"], ["2.0.9", "3.0.0", "3.0.0-beta", "2.5.0-rc.1"]),
        ("^2.1", ["2.1.0", "2.99.0"], ["2.0.9", "3.0.0", "3.0.0-alpha"]),
        ("^2.1.3", ["2.1.3", "2.2.0"], ["2.1.2", "3.0.0"]),
        ("^0.2.3", ["0.2.3", "0.2.9"], ["0.3.0", "0.2.2"]),
        ("^0.0.3", ["0.0.3"], ["0.0.4", "0.0.2"]),
        ("^0.0", ["0.0.0", "0.0.9"], ["0.1.0"]),
        ("^0", ["0.0.0", "0.9.9"], ["1.0.0"]),
        ("^0.0.x", ["0.0.5"], ["0.1.0"]),
        ("~1.4", ["1.4.0", "1.4.99"], ["1.5.0", "1.3.9"]),
        ("~1.4.2", ["1.4.2", "1.4.3"], ["1.4.1", "1.5.0"]),
        ("~1", ["1.0.0", "1.9.9"], ["2.0.0"]),
        ("1.x", ["1.0.0", "1.5.5"], ["2.0.0", "0.9.9"]),
        ("1.2", ["1.2.0", "1.2.7"], ["1.3.0"]),
        ("*", ["0.0.0", "99.0.0"], ["1.0.0-beta"]),
        ("1.2.3", ["1.2.3", "1.2.3+meta"], ["1.2.4"]),
        ("=1.2.3", ["1.2.3"], ["1.2.2"]),
        (">1.2", ["1.3.0"], ["1.2.9"]),
        ("<=1.2", ["1.2.9", "0.1.0"], ["1.3.0"]),
        ("<1.2", ["1.1.9"], ["1.2.0", "1.2.0-alpha"]),
        (">= 2.1.0  < 3.0.0", ["2.5.0"], ["3.0.0"]),
        ("1.2.3 - 2.3.4", ["1.2.3", "2.3.4"], ["2.3.5", "1.2.2"]),
        ("1.2 - 2.3.4", ["1.2.0"], ["1.1.9"]),
        ("1.2.3 - 2.3", ["2.3.9"], ["2.4.0"]),
        ("1.2.3 - 2", ["2.9.9"], ["3.0.0"]),
        ("<1.0.0 || >=2.0.0 <2.1.0 || 3.x", ["0.5.0", "2.0.5", "3.3.3"], ["1.5.0", "2.1.0", "4.0.0"]),
        // Pre-releases are in only when a comparator names the same MAJOR.MINOR.PATCH.
        (
            ">=3.0.0-beta.2 <3.1.0", ["3.0.0-beta.2", "3.0.0-beta.10", "3.0.0-rc.1", "3.0.5"],
            ["3.0.0-beta.1", "3.0.1-beta", "3.0.0-alpha"]
        ),
        ("^1.2.3-beta.2", ["1.2.3-beta.4", "1.2.3", "1.9.0"], ["1.2.4-beta", "1.2.3-beta.1", "2.0.0-0"]),
        ("~1.2.3-rc.1", ["1.2.3-rc.2", "1.2.5"], ["1.2.4-rc.1"]),
    ]

    @Test(arguments: cases)
    func matchesTheVersionsItShould(range: String, inside: [String], outside: [String]) throws {
        let parsed = try VersionRange(validating: range)
        for text in inside {
            #expect(parsed.contains(try SemanticVersion(validating: text)), "\(text) should be in \(range)")
        }
        for text in outside {
            #expect(!parsed.contains(try SemanticVersion(validating: text)), "\(text) should not be in \(range)")
        }
    }

    @Test func normalisesWhitespaceAndRoundTrips() throws {
        let range = try VersionRange(validating: "  >=  2.1.0   <3.0.0 ||  ^4  ")
        #expect(range.description == ">=2.1.0 <3.0.0 || ^4")
        #expect(try VersionRange(validating: range.description) == range)
    }
}
