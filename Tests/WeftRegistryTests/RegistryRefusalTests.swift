import Foundation
import Testing

/// Refusals on the endpoints the other suites reach only on their happy path.
@Suite struct RegistryRefusalTests {
    @Test func refusesBadIdsCursorsAndTargetsEverywhere() async throws {
        try await RegistryHarness.with { registry in
            #expect(try await registry.call("POST", "/v1/services", body: #"{"name":"catalog"}"#).status == 201)
            let cases: [(String, String, String?, Int)] = [
                ("GET", "/v1/audit?after=abc", nil, 400),
                ("GET", "/v1/audit?limit=-1", nil, 400),
                ("GET", "/v1/services/default/catalog/credentials/x", nil, 400),
                ("DELETE", "/v1/services/default/catalog/credentials/99", nil, 404),
                ("GET", "/v1/services/default/catalog/credentials/99", nil, 404),
                ("PUT", "/v1/instances/default/catalog/nope/maintenance", nil, 404),
                ("DELETE", "/v1/instances/default/catalog/bad%20id", nil, 400),
                ("PUT", "/v1/instances/default/catalog/x/heartbeat", "not json", 400),
                ("PUT", "/v1/instances/default/catalog/x/heartbeat", #"{"health":"tired"}"#, 400),
                ("DELETE", "/v1/policies/default/catalog", nil, 404),
                ("DELETE", "/v1/routes/services/default/catalog", nil, 404),
                ("GET", "/v1/routes/teapots", nil, 404),
                ("DELETE", "/v1/intentions/123", nil, 404),
                ("POST", "/v1/intentions", #"{"source":"*","destination":"catalog"}"#, 400),
                ("PUT", "/v1/defaults", #"{"trust_domain":"Not A Domain"}"#, 400),
                ("GET", "/v1/policies?after=x&after=y", nil, 400),
                ("POST", "/v1/discovery", #"{"kind":"sidecar"}"#, 400),
                ("POST", "/v1/discovery", "[]", 400),
            ]
            for (method, path, body, status) in cases {
                let reply = try await registry.call(method, path, body: body)
                #expect(reply.status == status, "\(method) \(path): \(reply.status) \(reply.text)")
                #expect(reply.header("Content-Type") == "application/problem+json", "\(method) \(path)")
            }
            // Stale If-Match on every kind of document.
            let defaults = try await registry.call("PUT", "/v1/defaults", body: #"{"default_action":"allow"}"#)
            let tag = try #require(defaults.header("ETag"))
            #expect(
                try await registry.call("PUT", "/v1/defaults", body: "{}", headers: ["If-Match": tag]).status == 200)
            #expect(
                try await registry.call("PUT", "/v1/defaults", body: "{}", headers: ["If-Match": tag]).status == 412)
            #expect(try await registry.call("DELETE", "/v1/defaults", headers: ["If-Match": tag]).status == 412)
            #expect(
                try await registry.call(
                    "PUT", "/v1/policies/default/catalog", body: #"{"service":"catalog"}"#,
                    headers: ["If-Match": "\"7\""]
                ).status == 412, "If-Match on something that does not exist")
        }
    }

    /// Compiled regexes are bounded per table and for the registry as a whole:
    /// a 300 KB table of `.{1000}` patterns once took a replica from 45 MB to
    /// 2.2 GB, and a restart reloaded it.
    @Test func boundsTheCompiledRegexesOfEachTableAndOfAllTables() async throws {
        func table(rules: Int) -> String {
            let items = (0..<rules).map {
                #"{"name":"r\#($0)","match":{"headers":[{"name":"x-h","regex":".{1000}"}]},"destinations":[{"service":"a"}]}"#
            }
            return #"{"routes":[\#(items.joined(separator: ","))]}"#
        }
        try await RegistryHarness.with { registry in
            // One table: 100 patterns of 1,001 instructions pass 100,000 at the last rule.
            let tooBig = try await registry.call("PUT", "/v1/routes/gateways/default/g0", body: table(rules: 100))
            #expect(tooBig.status == 400, "\(tooBig.text)")
            #expect(
                (tooBig.json["errors"] as? [[String: String]])?.first?["field"] == "routes[99].match", "\(tooBig.text)")
            #expect(tooBig.text.contains("100000 instructions"))

            // All tables: twenty of 99,099 fit under 2,000,000; a twenty-first does
            // not. A replica still catching up answers 503 (try again): a loaded
            // machine may, so each write is repeated until it has a verdict.
            func put(_ path: String, _ body: String) async throws -> RegistryHarness.Reply {
                var reply = try await registry.call("PUT", path, body: body)
                for _ in 0..<30 where reply.status == 503 {
                    try await Task.sleep(for: .milliseconds(500))
                    reply = try await registry.call("PUT", path, body: body)
                }
                return reply
            }
            let fits = table(rules: 99)
            for index in 0..<20 {
                let reply = try await put("/v1/routes/gateways/default/g\(index)", fits)
                #expect(reply.status == 200, "g\(index): \(reply.text)")
            }
            let over = try await put("/v1/routes/services/default/s0", fits)
            #expect(over.status == 409, "\(over.text.prefix(300))")
            #expect(over.text.contains("the limit is 2000000 in all"), "\(over.text.prefix(300))")
            // Replacing a table counts it once, not twice; removing one makes room.
            #expect(try await put("/v1/routes/gateways/default/g3", fits).status == 200)
            #expect(try await registry.call("DELETE", "/v1/routes/gateways/default/g3").status == 204)
            #expect(try await put("/v1/routes/services/default/s0", fits).status == 200)
            // Intentions' patterns (path, headers) count in the same budget: the
            // tables now hold 1,981,980, and an intention of 20,000 more is refused.
            func intention(headers: Int) -> String {
                let matches = (0..<headers).map { #"{"name":"x-h\#($0)","regex":".{1000}"}"# }
                return
                    #"{"source":"*","destination":"a","action":"allow","headers":[\#(matches.joined(separator: ","))]}"#
            }
            var refused = try await registry.call("POST", "/v1/intentions", body: intention(headers: 20))
            for _ in 0..<30 where refused.status == 503 {
                try await Task.sleep(for: .milliseconds(500))
                refused = try await registry.call("POST", "/v1/intentions", body: intention(headers: 20))
            }
            #expect(
                refused.status == 409 && refused.text.contains("with this intention"), "\(refused.text.prefix(300))")
            let small = try await registry.call("POST", "/v1/intentions", body: intention(headers: 1))
            #expect(small.status == 201, "\(small.text.prefix(300))")
        }
    }
}
