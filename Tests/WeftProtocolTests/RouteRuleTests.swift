import Foundation
import Testing
import WeftProtocol

@Suite struct RouteRuleTests {
    /// A valid rule to vary: the firmware-based routing the gateway exists for.
    static let firmwareRoute = #"""
        {
          "name": "kiosk-firmware-3",
          "match": {
            "hosts": ["api.example.com", "*.kiosk.example.com"],
            "path": {"prefix": "/v1/"},
            "methods": ["GET", "POST"],
            "headers": [
              {"name": "X-Terminal-Type", "exact": "kiosk"},
              {"name": "x-firmware-version", "version": ">=3.0.0 <4.0.0"},
              {"name": "x-debug", "absent": true}
            ],
            "query": [{"name": "beta", "present": true}]
          },
          "destinations": [
            {"service": "catalog", "subset": {"version": "3"}, "weight": 90},
            {"service": "catalog", "subset": {"version": "3-canary"}, "weight": 10}
          ],
          "timeout": "2s",
          "retries": {"attempts": 2, "per_try_timeout": "500ms", "retry_on": ["connect-failure", "gateway-error"]},
          "rewrite": {"prefix": "/", "set_headers": {"x-via": "gateway"}, "remove_headers": ["x-internal"]},
          "mirror": {"service": "catalog-shadow", "percent": 5},
          "fault": {"delay": {"duration": "100ms", "percent": 1}}
        }
        """#

    @Test func decodesAFullRuleAndRoundTrips() throws {
        let rule = try expectRoundTrip(RouteRule.self, Self.firmwareRoute)
        #expect(rule.name.rawValue == "kiosk-firmware-3")
        #expect(rule.match.headers[0].name.rawValue == "x-terminal-type")  // names are lowercased
        #expect(rule.destinations.map(\.weight) == [90, 10])
        #expect(rule.match.path == .prefix("/v1"))  // one spelling for a segment prefix
        #expect(rule.timeout == .seconds(2))
    }

    /// (replace this, with that, expected path, reason)
    static let invalid: [(String, String, String, String)] = [
        (#""name": "kiosk-firmware-3""#, #""name": "Kiosk""#, "name", "must be lowercase"),
        (#""weight": 90"#, #""weight": 80"#, "destinations", "weights sum to 90; they must sum to 100"),
        (#""weight": 90"#, #""weight": 101"#, "destinations[0].weight", "between 0 and 100"),
        (#", "weight": 10"#, "", "destinations[1].weight", "is required when a route has several destinations"),
        (#""version": "3-canary""#, #""version": "3""#, "destinations[1]", "repeats an earlier destination"),
        (
            #""version": ">=3.0.0 <4.0.0""#, #""version": ">=4.0.0 <3.0.0""#, "match.headers[1].version",
            "can never match"
        ),
        (#""exact": "kiosk""#, #""regex": "(kiosk""#, "match.headers[0].regex", "invalid pattern: missing ')'"),
        (#""exact": "kiosk""#, #""exact": "kiosk", "prefix": "k""#, "match.headers[0]", "give exactly one of"),
        (#""absent": true"#, #""absent": false"#, "match.headers[2].absent", "must be true"),
        (#""name": "X-Terminal-Type""#, #""name": ":authority""#, "match.headers[0].name", "pseudo-headers"),
        (#""name": "X-Terminal-Type""#, #""name": "x terminal""#, "match.headers[0].name", "token characters"),
        (#""exact": "kiosk""#, #""exact": "kio\nsk""#, "match.headers[0].exact", "control characters"),
        (#""prefix": "/v1/""#, #""prefix": "v1""#, "match.path.prefix", "must start with /"),
        (#""prefix": "/v1/""#, #""prefix": "/v1?x=1""#, "match.path.prefix", "must not hold a query"),
        (#""path": {"prefix": "/v1/"}"#, #""path": {"exact": "/v1/"}"#, "rewrite.prefix", "needs match.path.prefix"),
        (#""path": {"prefix": "/v1/"}"#, #""path": {}"#, "match.path", "give exactly one of exact, prefix or regex"),
        (#""GET""#, #""get""#, "match.methods[0]", "expected an uppercase token"),
        (#""*.kiosk.example.com""#, #""kiosk.*.com""#, "match.hosts[1]", "'*' may only open the name"),
        (#""timeout": "2s""#, #""timeout": "2""#, "timeout", "missing unit"),
        (#""timeout": "2s""#, #""timeout": "200ms""#, "retries.per_try_timeout", "exceeds the route timeout"),
        (#""attempts": 2"#, #""attempts": 11"#, "retries.attempts", "between 0 and 10"),
        (#""gateway-error""#, #""gateway-eror""#, "retries.retry_on[1]", "unknown retry condition"),
        (
            #""connect-failure", "gateway-error""#, #""connect-failure", "connect-failure""#, "retries.retry_on",
            "lists a condition twice"
        ),
        (#""percent": 5"#, #""percent": 150"#, "mirror.percent", "between 0 and 100"),
        (
            #""delay": {"duration": "100ms", "percent": 1}"#, #""abort": {"status": 700}"#, "fault.abort.status",
            "between 200 and 599"
        ),
        (
            #""fault": {"delay": {"duration": "100ms", "percent": 1}}"#, #""fault": {}"#, "fault",
            "give delay, abort or both"
        ),
        (
            #""set_headers": {"x-via": "gateway"}"#, #""set_headers": {"connection": "close"}"#, "rewrite.set_headers",
            "cannot be rewritten"
        ),
        (#""prefix": "/", "#, #""prefix": "/", "path": "/x", "#, "rewrite.prefix", "give path or prefix, not both"),
        (#""service": "catalog-shadow""#, #""service": "catalog_shadow""#, "mirror.service", "may hold only"),
        (#""timeout": "2s""#, #""timeout": "2s", "priority": 1"#, "priority", "unknown field"),
        (
            #""name": "beta", "present": true"#, #""name": "a&b", "present": true"#, "match.query[0].name",
            "other than & and ="
        ),
    ]

    @Test(arguments: invalid)
    func refusesInvalidRulesAtTheRightField(replace: String, with: String, path: String, reason: String) {
        #expect(Self.firmwareRoute.contains(replace), "fixture lacks \(replace)")
        let json = Self.firmwareRoute.replacingOccurrences(of: replace, with: with)
        expectRejected(RouteRule.self, json, path: path, reason: reason)
    }

    @Test func aLoneDestinationMayOmitItsWeight() throws {
        let rule = try WeftJSON.decode(RouteRule.self, from: #"{"name": "all", "destinations": [{"service": "api"}]}"#)
        #expect(rule.destinations[0].weight == 100)
        #expect(rule.match == RouteMatch())
    }

    @Test func refusesEmptyAndOversizedDestinationLists() {
        expectRejected(
            RouteRule.self, #"{"name": "r", "destinations": []}"#, path: "destinations", reason: "must not be empty")
        let many = (0..<33).map { #"{"service": "s\#($0)", "weight": 0}"# }.joined(separator: ",")
        expectRejected(
            RouteRule.self, #"{"name": "r", "destinations": [\#(many)]}"#, path: "destinations",
            reason: "the limit is 32")
    }

    /// Rules that answer by themselves, and response header changes.
    static let answering = #"""
        {
          "name": "old-api",
          "match": {"path": {"prefix": "/v1/"}},
          "redirect": {"scheme": "https", "host": "api.example.com", "prefix": "/v2/", "status": 308},
          "rate_limit": {"requests_per_second": 10, "burst": 20},
          "response_headers": {"set": {"cache-control": "no-store"}, "add": {"x-api": "1"}, "remove": ["server"]}
        }
        """#

    @Test func decodesRulesThatAnswerThemselvesAndRoundTrips() throws {
        let redirect = try expectRoundTrip(RouteRule.self, Self.answering)
        #expect(redirect.destinations.isEmpty && redirect.answersItself)
        #expect(redirect.redirect?.status == 308 && redirect.redirect?.prefix == "/v2/")
        #expect(redirect.responseHeaders?.removeFields.map(\.rawValue) == ["server"])
        let direct = try expectRoundTrip(
            RouteRule.self,
            #"{"name": "down", "direct_response": {"status": 503, "body": "back at 6", "content_type": "text/plain"}}"#)
        #expect(direct.directResponse?.status == 503)
        let plain = try WeftJSON.decode(RouteRule.self, from: #"{"name": "gone", "direct_response": {"status": 410}}"#)
        #expect(plain.redirect == nil && plain.directResponse?.body == nil)
        let rewrite = try expectRoundTrip(
            RouteRule.self,
            #"{"name": "r", "destinations": [{"service": "api"}], "rewrite": {"add_headers": {"x-via": "edge"}}}"#)
        #expect(rewrite.rewrite?.addHeaders.count == 1)
    }

    static let invalidAnswers: [(String, String, String, String)] = [
        (#""status": 308"#, #""status": 200"#, "redirect.status", "must be 301, 302, 303, 307 or 308"),
        (#""scheme": "https""#, #""scheme": "ftp""#, "redirect.scheme", "must be http or https"),
        (#""host": "api.example.com""#, #""host": "api example""#, "redirect.host", ""),
        (#""status": 308"#, #""status": 308, "port": 70000"#, "redirect.port", "between 1 and 65535"),
        (#""prefix": "/v2/""#, #""prefix": "/v2/", "path": "/x""#, "redirect.prefix", "give path or prefix"),
        (#""path": {"prefix": "/v1/"}"#, #""path": {"exact": "/v1/"}"#, "redirect.prefix", "needs match.path.prefix"),
        (#""rate_limit""#, #""destinations": [{"service": "api"}], "rate_limit""#, "destinations", "must be left out"),
        (#""rate_limit""#, #""timeout": "1s", "rate_limit""#, "timeout", "has nothing to act on"),
        (#""rate_limit""#, #""sticky": {"header": "x"}, "rate_limit""#, "sticky", "has nothing to act on"),
        (
            #""rate_limit""#, #""direct_response": {"status": 503}, "rate_limit""#, "direct_response",
            "give redirect or direct_response, not both"
        ),
        (#""remove": ["server"]"#, #""remove": ["x-weft-error"]"#, "response_headers.remove[0]", "cannot be changed"),
        (#""remove": ["server"]"#, #""remove": ["content-length"]"#, "response_headers.remove[0]", "cannot be changed"),
        (
            #""set": {"cache-control": "no-store"}"#, #""set": {"transfer-encoding": "chunked"}"#,
            #"response_headers.set["transfer-encoding"]"#, "cannot be changed"
        ),
        (#""x-api": "1""#, #""x-api": "1\r\nx: y""#, #"response_headers.add["x-api"]"#, "control characters"),
        (#""set": {"#, #""sett": {"#, "response_headers.sett", "unknown field"),
    ]

    @Test(arguments: invalidAnswers)
    func refusesInvalidAnswersAtTheRightField(replace: String, with: String, path: String, reason: String) {
        #expect(Self.answering.contains(replace), "fixture lacks \(replace)")
        let json = Self.answering.replacingOccurrences(of: replace, with: with)
        expectRejected(RouteRule.self, json, path: path, reason: reason)
    }

    @Test func refusesBadDirectResponsesAndARuleWithNothingToDo() {
        let big = String(repeating: "x", count: 4097)
        for (json, path, reason) in [
            (#"{"name": "d", "direct_response": {"status": 101}}"#, "direct_response.status", "between 200 and 599"),
            (#"{"name": "d", "direct_response": {"body": "x"}}"#, "direct_response.status", "required"),
            (
                #"{"name": "d", "direct_response": {"status": 200, "body": "\#(big)"}}"#, "direct_response.body",
                "the limit is 4096"
            ),
            (
                #"{"name": "d", "direct_response": {"status": 200, "content_type": ""}}"#,
                "direct_response.content_type", "media type"
            ),
            (#"{"name": "d"}"#, "destinations", "required"),
            (
                #"{"name": "d", "rewrite": {"add_headers": {"upgrade": "h2c"}}, "destinations": [{"service": "a"}]}"#,
                "rewrite.add_headers", "cannot be rewritten"
            ),
        ] {
            expectRejected(RouteRule.self, json, path: path, reason: reason)
        }
    }

    @Test func tablesRefuseDuplicateNamesAndTooManyRules() throws {
        let rule = #"{"name": "same", "destinations": [{"service": "api"}]}"#
        expectRejected(
            RouteTable.self, #"{"routes": [\#(rule), \#(rule)]}"#, path: "routes[1].name",
            reason: "already the name of routes[0]")
        let many = (0..<1001).map { #"{"name": "r\#($0)", "destinations": [{"service": "api"}]}"# }.joined(
            separator: ",")
        expectRejected(RouteTable.self, #"{"routes": [\#(many)]}"#, path: "routes", reason: "the limit is 1000")
        // An error deep in a table carries the whole path.
        let bad =
            #"{"routes": [\#(rule), {"name": "b", "match": {"headers": [{"name": "x", "regex": "a**"}]}, "destinations": [{"service": "api"}]}]}"#
        expectRejected(
            RouteTable.self, bad, path: "routes[1].match.headers[0].regex", reason: "a quantifier cannot follow")
    }

    @Test func pathMatchesUseWholeSegmentsForPrefixes() throws {
        let api = try PathMatch.prefix(validating: "/api/")
        #expect(api.matches(path: "/api"))
        #expect(api.matches(path: "/api/users"))
        #expect(!api.matches(path: "/apiv2"))
        #expect(!api.matches(path: "/ap"))
        let root = try PathMatch.prefix(validating: "/")
        #expect(root.matches(path: "/anything"))
        let exact = try PathMatch.exact(validating: "/healthz")
        #expect(exact.matches(path: "/healthz") && !exact.matches(path: "/healthz/"))
    }

    @Test func valueMatchesCoverEveryKind() throws {
        let version = ValueMatch.version(try VersionRange(validating: "^2.1"))
        #expect(version.matches("v2.3.0"))
        #expect(!version.matches("3.0.0"))
        #expect(!version.matches("not-a-version"))
        #expect(!version.matches(nil))
        #expect(ValueMatch.present.matches("") && !ValueMatch.present.matches(nil))
        #expect(ValueMatch.absent.matches(nil) && !ValueMatch.absent.matches("x"))
        #expect(ValueMatch.prefix("kio").matches("kiosk") && !ValueMatch.prefix("kio").matches(nil))
        #expect(ValueMatch.regex(try SafeRegex(validating: "k.*k")).matches("kiosk"))
    }

    @Test func hostPatternsIgnorePortAndCase() throws {
        let exact = try HostPattern(validating: "API.example.com")
        #expect(exact.matches(authority: "api.example.com:8443"))
        #expect(!exact.matches(authority: "www.example.com"))
        let wildcard = try HostPattern(validating: "*.example.com")
        #expect(wildcard.matches(authority: "a.b.example.com"))
        #expect(!wildcard.matches(authority: "example.com"))
        #expect(!wildcard.matches(authority: "badexample.com"))
        let v6 = try HostPattern(validating: "::1")
        #expect(v6.matches(authority: "[::1]:80"))
    }
}
