import Foundation
import Testing
import WeftHTTP2
import WeftProtocol
import WeftProxy

/// The gateway's compiled route table, without channels: which rule takes a
/// request, where a split sends it, what explain says, and how the request is
/// rewritten before entering the mesh.
@Suite struct GatewayRoutesTests {
    static func snapshot(_ routes: String, versions: [String] = ["v1", "v2", "v3"]) throws -> ProxySnapshot {
        let endpoints = versions.enumerated().map { index, version in
            #"{"instance": "p-\#(index)", "address": "10.0.0.\#(index + 1)", "port": 15443, "labels": {"version": "\#(version)"}}"#
        }.joined(separator: ", ")
        let text = """
            {"version": 1, "generated_at": "2026-11-28T00:00:00Z",
             "upstreams": [{"service": {"service": "payments"}, "endpoints": [\(endpoints)]}],
             "gateway_routes": {"routes": \(routes)}}
            """
        return ProxySnapshot(try WeftJSON.decode(DiscoverySnapshot.self, from: Data(text.utf8)))
    }

    static func request(
        _ method: String = "GET", _ authority: String = "api.pos.example", _ path: String = "/",
        _ headers: [(String, String)] = []
    ) -> GatewayRequest {
        request(method, authority, path, headers: headers)
    }

    static func request(path: String) -> GatewayRequest {
        request("GET", "api.pos.example", path, headers: [])
    }

    static func request(
        _ method: String = "GET", _ authority: String = "api.pos.example", _ path: String = "/",
        headers: [(String, String)]
    ) -> GatewayRequest {
        GatewayRequest(
            headers: [
                HTTP2Header(":method", method), HTTP2Header(":scheme", "http"), HTTP2Header(":authority", authority),
                HTTP2Header(":path", path),
            ] + headers.map { HTTP2Header($0.0, $0.1) })
    }

    static let table = """
        [{"name": "kiosk", "match": {"hosts": ["*.pos.example"], "methods": ["POST"], "path": {"prefix": "/v1"},
                                      "headers": [{"name": "x-terminal-type", "exact": "kiosk"}]},
          "destinations": [{"service": "payments", "subset": {"version": "v3"}}]},
         {"name": "fw1", "match": {"headers": [{"name": "x-firmware-version", "version": "^1.2.0"}]},
          "destinations": [{"service": "payments", "subset": {"version": "v1"}}]},
         {"name": "beta", "match": {"query": [{"name": "channel", "exact": "beta one"}]},
          "destinations": [{"service": "payments", "subset": {"version": "v2"}}]},
         {"name": "list", "match": {"headers": [{"name": "x-tag", "exact": "a,b"}]},
          "destinations": [{"service": "payments", "subset": {"version": "v2"}}]},
         {"name": "exact-host", "match": {"hosts": ["legacy.example"]},
          "destinations": [{"service": "payments", "subset": {"version": "v9"}}]}]
        """

    @Test(
        arguments: [
            // First matching rule in table order wins.
            (
                request(
                    "POST", "eu.pos.example", "/v1/pay",
                    [("x-terminal-type", "kiosk"), ("x-firmware-version", "1.2.5")]), "kiosk"
            ),
            // Each condition of a rule must hold: wrong method, host, path segment, header.
            (
                request(
                    "GET", "eu.pos.example", "/v1/pay", [("x-terminal-type", "kiosk"), ("x-firmware-version", "1.2.5")]),
                "fw1"
            ),
            (request("POST", "pos.example", "/v1/pay", [("x-terminal-type", "kiosk")]), nil),
            (request("POST", "EU.POS.EXAMPLE:8080", "/v1", [("x-terminal-type", "kiosk")]), "kiosk"),
            (request("POST", "eu.pos.example", "/v10/pay", [("x-terminal-type", "kiosk")]), nil),
            (request("POST", "eu.pos.example", "/v1/pay", [("x-terminal-type", "Kiosk")]), nil),
            // Versions: caret range, leading v, not a version, prerelease outside the range.
            (request(headers: [("x-firmware-version", "v1.9.0")]), "fw1"),
            (request(headers: [("x-firmware-version", "1.1.9")]), nil),
            (request(headers: [("x-firmware-version", "one.two")]), nil),
            (request(headers: [("x-firmware-version", "")]), nil),
            (request(headers: [("x-firmware-version", "2.0.0-rc.1")]), nil),
            // Query values are percent-decoded, + is a space.
            (request(path: "/pay?x=1&channel=beta+one"), "beta"),
            (request(path: "/pay?channel=beta%20one"), "beta"),
            (request(path: "/pay?channel=beta"), nil),
            // A repeated header is matched on its values joined with a comma.
            (request(headers: [("x-tag", "a"), ("x-tag", "b")]), "list"),
            // Exact hosts ignore case and port; IPv6 literals keep their brackets out.
            (request("GET", "LEGACY.example:443"), "exact-host"),
            (request("GET", "[::1]:8080"), nil),
        ] as [(GatewayRequest, String?)])
    func theFirstRuleWhoseEveryConditionHoldsTakesTheRequest(request: GatewayRequest, expected: String?) throws {
        let routes = try Self.snapshot(Self.table).gatewayRoutes
        #expect(routes.match(request)?.rule.name.description == expected)
    }

    @Test func explainNamesTheFirstConditionEachEarlierRuleFailed() throws {
        let routes = try Self.snapshot(Self.table).gatewayRoutes
        let request = Self.request(
            "GET", "eu.pos.example", "/v1/pay?channel=beta+one", [("x-firmware-version", "3.0.0")])
        let verdicts = routes.explain(request)
        #expect(verdicts.map(\.route.rule.name.description) == ["kiosk", "fw1", "beta"])
        #expect(verdicts.map(\.mismatch) == [.method, .header(0), nil])
        #expect(verdicts[0].mismatch?.describe(verdicts[0].route.rule, request) == "method GET is not POST")
        #expect(
            verdicts[1].mismatch?.describe(verdicts[1].route.rule, request)
                == #"header x-firmware-version "3.0.0" does not match version ^1.2.0"#)
        let none = routes.explain(Self.request())
        #expect(none.count == 5)
        #expect(none.allSatisfy { $0.mismatch != nil })
    }

    @Test func aSubsetDestinationHasOnlyTheInstancesCarryingItsLabels() throws {
        let routes = try Self.snapshot(Self.table).gatewayRoutes
        let kiosk = try #require(routes.routes.first)
        let destination = try #require(kiosk.destination(for: Self.request(), random: 0))
        #expect(destination.upstream.endpoints.map(\.host) == ["10.0.0.3"])
        #expect(destination.upstream.identity == "spiffe://weft.local/ns/default/sa/payments")
        // A subset no instance carries has no endpoints: 503, never another version.
        let last = try #require(routes.routes.last)
        let missing = try #require(last.destination(for: Self.request(), random: 0))
        #expect(missing.upstream.endpoints.isEmpty)
        #expect(missing.upstream.balancerKey != kiosk.destinations[0].upstream.balancerKey)
    }

    static func canary(_ canaryWeight: Int) throws -> GatewayRoutes.Route {
        let routes = try snapshot(
            """
            [{"name": "canary", "destinations": [
                {"service": "payments", "subset": {"version": "v1"}, "weight": \(100 - canaryWeight)},
                {"service": "payments", "subset": {"version": "v2"}, "weight": \(canaryWeight)}],
              "sticky": {"header": "x-terminal-id"}}]
            """)
        return try #require(routes.gatewayRoutes.routes.first)
    }

    static func side(_ route: GatewayRoutes.Route, terminal: String, random: Int = 0) -> String {
        route.destination(for: request(headers: [("x-terminal-id", terminal)]), random: random)?.subset["version"]
            ?? "?"
    }

    @Test func aStickyCanaryHoldsItsShareAndEachTerminalItsSide() throws {
        let route = try Self.canary(10)
        let terminals = (0..<10_000).map { "POS-\($0)" }
        let sides = terminals.map { Self.side(route, terminal: $0) }
        let share = Double(sides.filter { $0 == "v2" }.count) / 100
        #expect((8.0...12.0).contains(share), "canary share \(share) %")
        // The same terminal lands on the same side whatever the random draw.
        for (terminal, side) in zip(terminals.prefix(500), sides) {
            #expect(Self.side(route, terminal: terminal, random: 9_999) == side)
        }
        // Growing the canary only moves terminals into it.
        let grown = try Self.canary(20)
        for (terminal, side) in zip(terminals, sides) where side == "v2" {
            #expect(Self.side(grown, terminal: terminal) == "v2", "\(terminal) left the canary")
        }
        // Without the header the split is by the random draw.
        let noHeader = Self.request()
        #expect(route.destination(for: noHeader, random: 8_999)?.subset["version"] == "v1")
        #expect(route.destination(for: noHeader, random: 9_000)?.subset["version"] == "v2")
    }

    @Test(arguments: [
        // (match prefix, rewrite prefix, request target, forwarded target)
        ("/v1", "/api", "/v1/users?id=3", "/api/users?id=3"),
        ("/v1", "/api", "/v1", "/api"),
        ("/v1", "/", "/v1/users", "/users"),
        ("/v1", "/", "/v1", "/"),
        ("/", "/api", "/users", "/api/users"),
        ("/v1", "/api/", "/v1/users", "/api/users"),
    ])
    func prefixRewritesReplaceTheMatchedSegments(match: String, prefix: String, target: String, expected: String)
        throws
    {
        let routes = try Self.snapshot(
            """
            [{"name": "r", "match": {"path": {"prefix": "\(match)"}}, "rewrite": {"prefix": "\(prefix)"},
              "destinations": [{"service": "payments"}]}]
            """)
        let route = try #require(routes.gatewayRoutes.routes.first)
        let headers = [
            HTTP2Header(":method", "GET"), HTTP2Header(":scheme", "http"), HTTP2Header(":authority", "a"),
            HTTP2Header(":path", target),
        ]
        let request = GatewayRequest(headers: headers)
        #expect(route.firstMismatch(request) == nil)
        let prepared = GatewayRequestPolicy.prepare(
            headers, request: request, route: route.rule, clientAddress: "198.51.100.7", scheme: "https",
            traceIDs: TraceIDGenerator())
        #expect(prepared[first: ":path"] == expected)
    }

    @Test func externalHeadersAreCleanedAndRewrittenBeforeTheMesh() throws {
        let routes = try Self.snapshot(
            """
            [{"name": "r", "rewrite": {"host": "payments.internal", "set_headers": {"x-tier": "gold"},
                                       "remove_headers": ["x-debug"]},
              "destinations": [{"service": "payments"}]}]
            """)
        let route = try #require(routes.gatewayRoutes.routes.first)
        let valid = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        let headers = [
            HTTP2Header(":method", "GET"), HTTP2Header(":scheme", "http"), HTTP2Header(":authority", "api.example"),
            HTTP2Header(":path", "/"), HTTP2Header("x-weft-caller-identity", "spiffe://weft.local/ns/default/sa/x"),
            HTTP2Header("x-weft-deadline-ms", "1"), HTTP2Header("x-forwarded-for", "10.9.9.9"),
            HTTP2Header("x-forwarded-proto", "https"), HTTP2Header("x-tier", "bronze"), HTTP2Header("x-debug", "1"),
            HTTP2Header("traceparent", valid), HTTP2Header("tracestate", "a=b"), HTTP2Header("accept", "*/*"),
        ]
        let prepared = GatewayRequestPolicy.prepare(
            headers, request: GatewayRequest(headers: headers), route: route.rule, clientAddress: "198.51.100.7",
            scheme: "https", traceIDs: TraceIDGenerator())
        #expect(!prepared.contains { $0.name.hasPrefix("x-weft-") })
        #expect(prepared[first: ":authority"] == "payments.internal")
        #expect(prepared.filter { $0.name == "x-forwarded-for" }.map(\.value) == ["198.51.100.7"])
        #expect(prepared.filter { $0.name == "x-forwarded-proto" }.map(\.value) == ["https"])
        #expect(prepared[first: "x-forwarded-host"] == "api.example")
        #expect(prepared.filter { $0.name == "x-tier" }.map(\.value) == ["gold"])
        #expect(prepared[first: "x-debug"] == nil)
        #expect(prepared[first: "traceparent"] == valid)
        #expect(prepared[first: "tracestate"] == "a=b")
        #expect(prepared[first: "accept"] == "*/*")
        // A malformed trace is replaced, and its tracestate goes with it.
        var broken = headers
        broken[10] = HTTP2Header("traceparent", "00-zz")
        let replaced = GatewayRequestPolicy.prepare(
            broken, request: GatewayRequest(headers: broken), route: route.rule, clientAddress: nil, scheme: "http",
            traceIDs: TraceIDGenerator())
        #expect(replaced[first: "traceparent"]?.count == 55)
        #expect(replaced[first: "traceparent"] != "00-zz")
        #expect(replaced[first: "tracestate"] == nil)
        #expect(replaced[first: "x-forwarded-for"] == nil)
    }

    /// Thousands of repeats of one header (what fits in a 64 KiB header list) are
    /// joined once per lookup, in order, empty values kept: `a,,b,…`.
    @Test func aHeaderRepeatedThousandsOfTimesIsJoinedOnceInOrder() throws {
        var headers = [(String, String)]()
        for index in 0..<6_000 { headers.append(("x-tag", index == 1 ? "" : "v\(index)")) }
        headers.append(("x-other", "1"))
        let request = Self.request(headers: headers)
        let value = try #require(request.value(of: "x-tag"))
        #expect(value.hasPrefix("v0,,v2,v3,"))
        #expect(value.hasSuffix(",v5999"))
        #expect(value.split(separator: ",", omittingEmptySubsequences: false).count == 6_000)
        #expect(request.value(of: "x-other") == "1")
        #expect(request.value(of: "x-missing") == nil)
    }

    @Test func stickyNeedsSeveralDestinations() throws {
        let text = #"{"name": "r", "destinations": [{"service": "payments"}], "sticky": {"header": "x-terminal-id"}}"#
        #expect(throws: (any Error).self) { try WeftJSON.decode(RouteRule.self, from: Data(text.utf8)) }
        let unknown =
            #"{"name": "r", "destinations": [{"service": "a", "weight": 50}, {"service": "b", "weight": 50}], "sticky": {"cookie": "x"}}"#
        #expect(throws: (any Error).self) { try WeftJSON.decode(RouteRule.self, from: Data(unknown.utf8)) }
    }

    /// The path index finds exactly the rule a walk down the whole table finds,
    /// whatever mix of exact paths, segment prefixes, the root, regexes and
    /// path-less rules the table holds, in table order.
    @Test func thePathIndexAgreesWithAWalkOfTheWholeTable() throws {
        let paths = [
            #"{"prefix": "/v1/pay"}"#, #"{"exact": "/v1/pay"}"#, #"{"prefix": "/v1"}"#, "null",
            #"{"regex": "/v[0-9]+/pa.*"}"#, #"{"exact": "/"}"#, #"{"prefix": "/"}"#, #"{"prefix": "/v2/refund"}"#,
            #"{"exact": "/v1/pay/"}"#, #"{"prefix": "/api"}"#, #"{"exact": "/api/items"}"#,
        ]
        let headers = [
            "[]", #"[{"name": "x-t", "exact": "a"}]"#, #"[{"name": "x-t", "exact": "b"}]"#,
        ]
        var rules: [String] = []
        for index in 0..<60 {
            let path = paths[(index * 7) % paths.count]
            let header = headers[(index * 5) % headers.count]
            let pathField = path == "null" ? "" : #""path": \#(path), "#
            rules.append(
                #"{"name": "r\#(index)", "match": {\#(pathField)"headers": \#(header)}, "destinations": [{"service": "payments"}]}"#
            )
        }
        let routes = try Self.snapshot("[" + rules.joined(separator: ",") + "]").gatewayRoutes
        let requestPaths = [
            "/", "/v1", "/v1/", "/v1/pay", "/v1/pay/", "/v1/pay/x", "/v1/payx", "/v2/refund", "/v2/refund/1",
            "/v2", "/api", "/api/items", "/api/items/2", "/apix", "/v9/pa", "/other", "//v1", "/v1//pay",
        ]
        var checked = 0
        for path in requestPaths {
            for value in [nil, "a", "b", "c"] {
                let request = Self.request("GET", "api.pos.example", path, headers: value.map { [("x-t", $0)] } ?? [])
                let walked = routes.explain(request).last.flatMap { $0.mismatch == nil ? $0.route.rule.name : nil }
                #expect(routes.match(request)?.rule.name == walked, "\(path) x-t=\(value ?? "-")")
                checked += 1
            }
        }
        #expect(checked == requestPaths.count * 4)
    }

    /// The header filter (exact values and version ranges, indexed per table)
    /// never changes which rule takes a request: 300 rules mixing every kind
    /// of condition on the two indexed headers, against every combination of
    /// terminal type and firmware a terminal might send, agree with a walk of
    /// the whole table.
    /// Mixed: rules that test the headers every way, or not at all (the filter
    /// leaves many, walked through the path index). Dense: every rule tests
    /// one terminal type and one range (the filter leaves a few, tried
    /// directly).
    @Test(arguments: [false, true])
    func theHeaderFilterAgreesWithAWalkOfTheWholeTable(dense: Bool) throws {
        let types = [
            nil, #"{"name": "x-terminal-type", "exact": "kiosk"}"#, #"{"name": "x-terminal-type", "exact": "till"}"#,
            #"{"name": "x-terminal-type", "exact": "handheld"}"#, #"{"name": "x-terminal-type", "prefix": "ki"}"#,
            #"{"name": "x-terminal-type", "absent": true}"#, #"{"name": "x-terminal-type", "present": true}"#,
            #"{"name": "x-terminal-type", "regex": "t.*"}"#,
        ]
        let versions = [
            nil, ">=1.0.0 <2.0.0", "^2.1.0", "~2.1.3", ">=2.0.0-beta.1 <2.0.0", "1.x || >=3.0.0", "=2.1.3", "<1.5.0",
            "*", ">2.1.3 <=2.4.0", "^2.0.0-rc.1", ">=2.1.4",
        ]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        var rules: [String] = []
        for index in 0..<300 {
            var conditions: [String] = []
            if dense {
                let range = versions[1 + next(versions.count - 1)]!
                conditions.append(types[1 + next(3)]!)
                conditions.append(#"{"name": "x-firmware-version", "version": "\#(range)"}"#)
                rules.append(
                    #"{"name": "r\#(index)", "match": {"headers": [\#(conditions.joined(separator: ","))]}, "destinations": [{"service": "payments"}]}"#
                )
                continue
            }
            if let type = types[next(types.count)] { conditions.append(type) }
            if next(6) == 0, let another = types[next(types.count)] { conditions.append(another) }
            if let range = versions[next(versions.count)] {
                conditions.append(#"{"name": "x-firmware-version", "version": "\#(range)"}"#)
            }
            if next(8) == 0, let range = versions[next(versions.count)] {
                conditions.append(#"{"name": "x-firmware-version", "version": "\#(range)"}"#)
            }
            if next(10) == 0 { conditions.append(#"{"name": "x-firmware-version", "prefix": "2."}"#) }
            let path = next(4) == 0 ? #""path": {"prefix": "/v1/refund"}, "# : ""
            rules.append(
                #"{"name": "r\#(index)", "match": {\#(path)"headers": [\#(conditions.joined(separator: ","))]}, "destinations": [{"service": "payments"}]}"#
            )
        }
        let routes = try Self.snapshot("[" + rules.joined(separator: ",") + "]").gatewayRoutes
        #expect(routes.filteredHeaders == ["x-terminal-type", "x-firmware-version"])
        var checked = 0
        var matched = 0
        for type in [nil, "kiosk", "till", "handheld", "kitchen", "other"] {
            for firmware in [
                nil, "1.0.0", "1.4.9", "1.5.0", "2.0.0-beta.2", "2.0.0", "2.1.0", "2.1.3", "2.1.4", "2.4.0", "2.4.1",
                "3.0.0", "v2.1.3", "2.1.3-rc.1", "2.0.0-rc.2", "garbage", "9.9.9",
            ] {
                for path in ["/v1/pay", "/v1/refund/7"] {
                    var headers: [(String, String)] = []
                    if let type { headers.append(("x-terminal-type", type)) }
                    if let firmware { headers.append(("x-firmware-version", firmware)) }
                    let request = Self.request("GET", "api.pos.example", path, headers: headers)
                    let walked = routes.explain(request).last.flatMap { $0.mismatch == nil ? $0.route.rule.name : nil }
                    let found = routes.match(request)?.rule.name
                    #expect(found == walked, "type \(type ?? "-") firmware \(firmware ?? "-") \(path)")
                    checked += 1
                    if found != nil { matched += 1 }
                }
            }
        }
        #expect(checked == 6 * 17 * 2)
        #expect(matched > checked / (dense ? 4 : 2), "the table should take many requests, or the test proves little")
    }

    /// A table whose ranges name more versions than the index keeps (2,048)
    /// is not indexed by version, and still routes as the table says.
    @Test func tooManyVersionBoundariesLeaveTheVersionIndexOut() throws {
        var rules: [String] = []
        for index in 0..<300 {
            let range = (0..<10).map { "=1.\(index).\($0)" }.joined(separator: " || ")
            rules.append(
                #"{"name": "r\#(index)", "match": {"headers": [{"name": "x-terminal-type", "exact": "kiosk"}, {"name": "x-firmware-version", "version": "\#(range)"}]}, "destinations": [{"service": "payments"}]}"#
            )
        }
        let routes = try Self.snapshot("[" + rules.joined(separator: ",") + "]").gatewayRoutes
        #expect(routes.filteredHeaders == ["x-terminal-type"])
        let request = Self.request(
            "GET", "api.pos.example", "/", headers: [("x-terminal-type", "kiosk"), ("x-firmware-version", "1.299.9")])
        #expect(routes.match(request)?.rule.name.rawValue == "r299")
    }
}
