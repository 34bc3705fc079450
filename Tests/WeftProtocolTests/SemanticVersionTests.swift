import Testing
import WeftProtocol

@Suite struct SemanticVersionTests {
    @Test(arguments: [
        ("", "must not be empty"),
        ("1", "expected MAJOR.MINOR.PATCH"),
        ("1.2", "expected MAJOR.MINOR.PATCH"),
        ("1.2.3.4", "expected MAJOR.MINOR.PATCH"),
        ("01.2.3", "major has a leading zero"),
        ("1.02.3", "minor has a leading zero"),
        ("1.2.03", "patch has a leading zero"),
        ("1.2.3-01", "leading zero"),
        ("1.2.3-", "pre-release has an empty identifier"),
        ("1.2.3-alpha..1", "pre-release has an empty identifier"),
        ("1.2.3+", "build metadata has an empty identifier"),
        ("1.2.3-al_pha", "pre-release may hold only"),
        ("1.2.3+bu!ld", "build metadata may hold only"),
        ("v1.2.3", "major must be a number"),
        ("1.2.x", "patch must be a number"),
        ("-1.2.3", "expected MAJOR.MINOR.PATCH"),
        ("18446744073709551616.0.0", "major is too large"),
        ("1.2.3-18446744073709551616", "too large"),
        (" 1.2.3", "major must be a number"),
        ("1..3", "minor must be a number"),
        ("1.2.", "patch must be a number"),
        (".1.2", "major must be a number"),
        ("1.2.3 ", "patch must be a number"),
    ])
    func refusesMalformedVersions(text: String, reason: String) {
        expectInvalid(SemanticVersion.self, text, reason)
    }

    @Test(arguments: [
        "0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7", "1.0.0-x.7.z.92",
        "1.0.0-alpha+001", "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85", "1.0.0+21AF26D3----117B344092BD",
        "18446744073709551615.0.0", "1.0.0-x-y-z.--", "999999999999999999.0.1", "0.10.0",
    ])
    func acceptsAndPrintsValidVersions(text: String) throws {
        let version = try SemanticVersion(validating: text)
        #expect(version.description == text)
    }

    @Test func ordersBySemVerPrecedence() throws {
        // The example chain from semver.org, section 11.
        let chain = [
            "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
            "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1",
        ].map { try! SemanticVersion(validating: $0) }
        for (lower, higher) in zip(chain, chain.dropFirst()) {
            #expect(lower.precedence(comparedTo: higher) == -1, "\(lower) < \(higher)")
            #expect(higher.precedence(comparedTo: lower) == 1)
            #expect(lower < higher)
        }
        #expect(chain.shuffled().sorted() == chain)
    }

    @Test func ignoresBuildMetadataForPrecedenceButNotForEquality() throws {
        let a = try SemanticVersion(validating: "1.0.0+build.1")
        let b = try SemanticVersion(validating: "1.0.0+build.2")
        #expect(a.precedence(comparedTo: b) == 0)
        #expect(a != b)
        #expect(a < b)  // tie broken by build, so < and == agree
    }

    @Test(arguments: [("v2.1.0", "2.1.0"), ("V3.0.0-beta", "3.0.0-beta"), ("  2.0.0\t", "2.0.0")])
    func headerValuesMayCarryALeadingV(value: String, expected: String) {
        #expect(SemanticVersion(parsingHeaderValue: Substring(value))?.description == expected)
    }

    @Test(arguments: ["2.1", "vv2.1.0", "", "latest", "2.1.0 beta"])
    func headerValuesThatAreNotVersionsGiveNil(value: String) {
        #expect(SemanticVersion(parsingHeaderValue: Substring(value)) == nil)
    }
}
