import Foundation
import Testing
import WeftTestSupport

/// External traffic through the gateway into the mesh, all real processes:
/// curl → weft-gateway → mutual TLS HTTP/2 → weft-sidecar (payments, three
/// versions) → weft-echo. The point-of-sale case: terminals are routed by their
/// firmware version and type, and a canary is sticky by terminal id.
@Suite(.serialized) struct GatewayMeshTests {
    struct Mesh {
        let fixture: MeshFixture
        let gateway: MeshFixture.Gateway
        let snapshot: String
        /// Sidecar mesh ports of payments v1, v2, v3.
        let payments: [Int]
    }

    /// Routes, in table order:
    /// 1. `kiosk`: `x-terminal-type: kiosk` under /v1 → v3, path prefix /v1 → /api;
    /// 2. `firmware-1`: `x-firmware-version` in 1.x → v1;
    /// 3. `firmware-2`: 2.x → v2 90 %, v3 10 %, sticky by `x-terminal-id`;
    /// nothing else (404).
    static func snapshotText(version: Int, payments: [Int], firmware1Subset: String = "v1") -> String {
        let endpoints = payments.enumerated().map { index, port in
            #"{"instance": "payments-v\#(index + 1)", "address": "127.0.0.1", "port": \#(port), "labels": {"version": "v\#(index + 1)"}}"#
        }.joined(separator: ", ")
        return """
            {"version": \(version), "generated_at": "2026-11-28T00:00:00Z",
             "defaults": {"default_action": "deny", "trust_domain": "\(MeshFixture.trustDomain)"},
             "upstreams": [{"service": {"service": "payments"}, "protocol": "http", "endpoints": [\(endpoints)]}],
             "gateway_routes": {"routes": [
               {"name": "kiosk",
                "match": {"hosts": ["api.pos.example", "*.pos.example"], "path": {"prefix": "/v1"},
                          "headers": [{"name": "x-terminal-type", "exact": "kiosk"}]},
                "destinations": [{"service": "payments", "subset": {"version": "v3"}}],
                "rewrite": {"prefix": "/api", "set_headers": {"x-routed-by": "kiosk"}}},
               {"name": "firmware-1",
                "match": {"headers": [{"name": "x-firmware-version", "version": ">=1.0.0 <2.0.0"}]},
                "destinations": [{"service": "payments", "subset": {"version": "\(firmware1Subset)"}}]},
               {"name": "firmware-2",
                "match": {"headers": [{"name": "x-firmware-version", "version": ">=2.0.0 <3.0.0"}]},
                "destinations": [{"service": "payments", "subset": {"version": "v2"}, "weight": 90},
                                 {"service": "payments", "subset": {"version": "v3"}, "weight": 10}],
                "sticky": {"header": "x-terminal-id"}}
             ]}}
            """
    }

    static func withMesh<T>(_ body: (Mesh) throws -> T) throws -> T {
        let fixture = try MeshFixture()
        defer { fixture.stop() }
        let allowEdge = try fixture.snapshot(
            "payments.json", intentions: [(MeshFixture.identity("edge"), "payments", "allow")])
        var payments: [Int] = []
        for version in 1...3 {
            let echo = try fixture.startEcho(name: "payments-v\(version)")
            payments.append(try fixture.startSidecar("payments", app: echo, snapshot: allowEdge).inbound)
        }
        let snapshot = try fixture.scratch.write(
            "gateway.json", snapshotText(version: 1, payments: payments))
        let gateway = try fixture.startGateway("edge", snapshot: snapshot)
        return try body(Mesh(fixture: fixture, gateway: gateway, snapshot: snapshot, payments: payments))
    }

    /// curl through the gateway: status line headers and body.
    static func call(
        _ mesh: Mesh, _ path: String = "/v1/pay", host: String = "api.pos.example", http2: Bool = false,
        headers: [String: String] = [:]
    ) throws -> (code: Int, headers: [String: String], body: String) {
        var arguments = [http2 ? "--http2-prior-knowledge" : "--http1.1", "-i", "-H", "host: \(host)"]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { arguments += ["-H", "\(name): \(value)"] }
        arguments.append("http://127.0.0.1:\(mesh.gateway.http)\(path)")
        let result = try Command.curl(arguments)
        guard result.status == 0 else { throw Command.Failure(description: "curl: \(result.errors)") }
        let parts = result.output.components(separatedBy: "\r\n\r\n")
        let head = parts[0].components(separatedBy: "\r\n")
        let code = Int(head[0].split(separator: " ")[1]) ?? 0
        var fields: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (code, fields, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    static func headers(in report: String) throws -> [[String]] {
        try Command.object(report)["headers"] as? [[String]] ?? []
    }

    @Test func terminalsAreRoutedByFirmwareAndTypeOverHTTP1AndH2c() async throws {
        try await blocking {
            try Self.withMesh { mesh in
                for http2 in [false, true] {
                    let label = http2 ? "h2c" : "http/1.1"
                    let v1 = try Self.call(mesh, http2: http2, headers: ["x-firmware-version": "1.4.2"])
                    #expect(v1.code == 200, "\(label): \(v1)")
                    #expect(v1.headers["x-echo-name"] == "payments-v1", "\(label)")
                    // The client learns which rule took its request.
                    #expect(v1.headers["x-weft-route"] == "firmware-1", "\(label): \(v1.headers)")
                    let leadingV = try Self.call(mesh, http2: http2, headers: ["x-firmware-version": "v1.0.0"])
                    #expect(leadingV.headers["x-echo-name"] == "payments-v1", "\(label)")

                    // A kiosk goes to v3 whatever its firmware; its path is rewritten.
                    let kiosk = try Self.call(
                        mesh, "/v1/pay?amount=12", http2: http2,
                        headers: ["x-terminal-type": "kiosk", "x-firmware-version": "1.4.2"])
                    #expect(kiosk.headers["x-echo-name"] == "payments-v3", "\(label)")
                    #expect(kiosk.headers["x-weft-route"] == "kiosk", "\(label)")
                    #expect(try Command.object(kiosk.body)["path"] as? String == "/api/pay?amount=12", "\(label)")
                    #expect(try Self.headers(in: kiosk.body).contains(["x-routed-by", "kiosk"]), "\(label)")
                    // The wildcard host matches a name below pos.example, not another domain.
                    let subdomain = try Self.call(
                        mesh, host: "eu.pos.example", http2: http2, headers: ["x-terminal-type": "kiosk"])
                    #expect(subdomain.headers["x-echo-name"] == "payments-v3", "\(label)")
                    let elsewhere = try Self.call(
                        mesh, host: "api.other.example", http2: http2, headers: ["x-terminal-type": "kiosk"])
                    #expect(elsewhere.code == 404, "\(label)")
                }
            }
        }
    }

    @Test func theCanaryIsStickyByTerminal() async throws {
        try await blocking {
            try Self.withMesh { mesh in
                var sides: [String: String] = [:]
                for terminal in (1...12).map({ "T-\($0)" }) {
                    var seen = Set<String>()
                    for http2 in [false, true, false] {
                        let response = try Self.call(
                            mesh, http2: http2, headers: ["x-firmware-version": "2.3.0", "x-terminal-id": terminal])
                        #expect(response.code == 200)
                        seen.insert(response.headers["x-echo-name"] ?? "?")
                    }
                    #expect(seen.count == 1, "\(terminal) moved between \(seen)")
                    sides[terminal] = seen.first
                }
                #expect(Set(sides.values).isSubset(of: ["payments-v2", "payments-v3"]), "\(sides)")
            }
        }
    }

    @Test func requestsNoRuleTakesGet404WithAProblemNamingTheGateway() async throws {
        try await blocking {
            try Self.withMesh { mesh in
                for headers in [[:], ["x-firmware-version": "banana"], ["x-firmware-version": "3.0.0"]] {
                    let response = try Self.call(mesh, headers: headers)
                    #expect(response.code == 404, "\(headers)")
                    #expect(response.headers["content-type"] == "application/problem+json", "\(headers)")
                    #expect(response.headers["x-weft-error"] == "no-route", "\(headers)")
                    #expect(response.body.contains("weft-gateway"), "\(response.body)")
                }
            }
        }
    }

    @Test func meshHeadersFromOutsideNeverEnterAndForwardingHeadersAreSet() async throws {
        try await blocking {
            try Self.withMesh { mesh in
                let response = try Self.call(
                    mesh,
                    headers: [
                        "x-firmware-version": "1.0.0",
                        "x-weft-caller-identity": "spiffe://weft.local/ns/default/sa/admin",
                        "x-weft-retry-attempt": "9", "x-forwarded-for": "203.0.113.9", "x-forwarded-host": "forged",
                        "traceparent": "not-a-trace",
                    ])
                #expect(response.code == 200, "\(response)")
                let headers = try Self.headers(in: response.body)
                func values(_ name: String) -> [String] { headers.filter { $0.first == name }.map { $0.last ?? "" } }
                #expect(values("x-weft-caller-identity") == [MeshFixture.identity("edge")])
                #expect(values("x-weft-retry-attempt").isEmpty)
                // The gateway replaced the client's claim; the sidecar appended the gateway.
                #expect(values("x-forwarded-for") == ["127.0.0.1, 127.0.0.1"], "\(headers)")
                #expect(values("x-forwarded-host") == ["api.pos.example"])
                #expect(values("x-forwarded-proto") == ["http"])
                #expect(values("traceparent").first?.count == 55)
            }
        }
    }

    @Test func explainSaysWhichRuleTakesARequestAndWhyEarlierOnesDidNot() async throws {
        try await blocking {
            try Self.withMesh { mesh in
                let query =
                    #"{"host": "api.pos.example", "path": "/v1/pay", "headers": {"x-firmware-version": "2.1.0", "x-terminal-id": "T-7"}}"#
                let result = try Command.curl([
                    "-X", "POST", "-H", "content-type: application/json", "--data", query,
                    "http://127.0.0.1:\(mesh.gateway.admin)/routes/explain",
                ])
                let answer = try Command.object(result.output)
                #expect(answer["matched"] as? String == "firmware-2", "\(result.output)")
                let rules = answer["rules"] as? [[String: Any]] ?? []
                #expect(rules.count == 3)
                #expect((rules.first?["reason"] as? String)?.contains("x-terminal-type (absent)") == true, "\(rules)")
                #expect((rules.dropFirst().first?["reason"] as? String)?.contains("\"2.1.0\"") == true, "\(rules)")
                let destinations = answer["destinations"] as? [[String: Any]] ?? []
                #expect(destinations.count == 1)
                #expect((destinations.first?["chosen_by"] as? String)?.hasPrefix("sticky (x-terminal-id") == true)
                // The pick explain names is where the request goes.
                let subset = destinations.first?["subset"] as? [String: String]
                let response = try Self.call(
                    mesh, headers: ["x-firmware-version": "2.1.0", "x-terminal-id": "T-7"])
                #expect(response.headers["x-echo-name"] == "payments-\(subset?["version"] ?? "?")")

                let bad = try Command.curl([
                    "-X", "POST", "--data", #"{"host": "a", "path": "no-slash"}"#, "-w", "%{http_code}",
                    "http://127.0.0.1:\(mesh.gateway.admin)/routes/explain",
                ])
                #expect(bad.output.hasSuffix("400"), "\(bad.output)")
                let table = try Command.object(
                    try Command.curl(["http://127.0.0.1:\(mesh.gateway.admin)/routes"]).output)
                #expect((table["routes"] as? [[String: Any]])?.count == 3)
            }
        }
    }

    @Test func aRouteChangeAppliesWithoutARestart() async throws {
        try await blocking {
            try Self.withMesh { mesh in
                let before = try Self.call(mesh, headers: ["x-firmware-version": "1.2.0"])
                #expect(before.headers["x-echo-name"] == "payments-v1")
                try Self.snapshotText(version: 2, payments: mesh.payments, firmware1Subset: "v2")
                    .write(toFile: mesh.snapshot, atomically: true, encoding: .utf8)
                var after = ""
                Command.eventually {
                    after =
                        (try? Self.call(mesh, headers: ["x-firmware-version": "1.2.0"]).headers["x-echo-name"]) ?? ""
                    return after == "payments-v2"
                }
                #expect(after == "payments-v2")
                // A broken edit is refused; the gateway keeps routing on version 2.
                try "{\"version\": 3, \"gateway_routes\": {\"routes\": [{\"name\": \"Bad Name\"}]}}"
                    .write(toFile: mesh.snapshot, atomically: true, encoding: .utf8)
                Command.eventually { mesh.gateway.process.output.contains("refused the changed snapshot file") }
                #expect(mesh.gateway.process.output.contains("refused the changed snapshot file"))
                let still = try Self.call(mesh, headers: ["x-firmware-version": "1.2.0"])
                #expect(still.headers["x-echo-name"] == "payments-v2")
            }
        }
    }

    @Test func aGatewayTheServiceDoesNotAllowIsRefused() async throws {
        try await blocking {
            let fixture = try MeshFixture()
            defer { fixture.stop() }
            let echo = try fixture.startEcho(name: "payments-v1")
            let denyAll = try fixture.snapshot("payments.json")
            let sidecar = try fixture.startSidecar("payments", app: echo, snapshot: denyAll)
            let snapshot = try fixture.scratch.write(
                "gateway.json", Self.snapshotText(version: 1, payments: [sidecar.inbound, 1, 1]))
            let gateway = try fixture.startGateway("edge", snapshot: snapshot)
            let result = try Command.curl([
                "-H", "x-firmware-version: 1.0.0", "-w", "\n%{http_code}", "http://127.0.0.1:\(gateway.http)/v1/pay",
            ])
            #expect(result.output.hasSuffix("403"), "\(result.output)")
            #expect(result.output.contains("denied"))
        }
    }
}
