import Foundation
import Testing
import WeftTestSupport

/// A gateway rule's own policy on real traffic: a rate limit per terminal, a
/// timeout, retries past a failing instance, an injected fault. curl →
/// weft-gateway → weft-sidecar → weft-echo, all real processes.
@Suite(.serialized) struct GatewayPolicyTests {
    @Test func perTerminalLimitsTimeoutsRetriesAndFaultsApplyPerRule() async throws {
        try await blocking {
            let fixture = try MeshFixture()
            defer { fixture.stop() }
            let allowEdge = try fixture.snapshot(
                "payments.json", intentions: [(MeshFixture.identity("edge"), "payments", "allow")])
            // Instances: two healthy, one slow, one failing.
            var instances: [(port: Int, labels: String)] = []
            for (index, (flags, labels)) in [
                ([String](), #""pool": "a""#), ([], #""pool": "b""#), (["--delay-ms", "400"], #""pool": "slow""#),
                (["--status", "503"], #""pool": "a""#),
            ].enumerated() {
                let echo = try fixture.startEcho(name: "payments-\(index)", extra: flags)
                let sidecar = try fixture.startSidecar(
                    "payments", app: echo, snapshot: allowEdge,
                    credentials: try fixture.credentials(
                        for: MeshFixture.identity("payments"), name: "payments-\(index)"))
                instances.append((sidecar.inbound, labels))
            }
            let endpoints = instances.enumerated().map { index, instance in
                #"{"instance": "p-\#(index)", "address": "127.0.0.1", "port": \#(instance.port), "labels": {\#(instance.labels)}}"#
            }.joined(separator: ", ")
            let snapshot = try fixture.scratch.write(
                "gateway.json",
                """
                {"version": 1, "generated_at": "2026-11-28T00:00:00Z",
                 "defaults": {"default_action": "deny", "trust_domain": "\(MeshFixture.trustDomain)"},
                 "upstreams": [{"service": {"service": "payments"}, "protocol": "http", "endpoints": [\(endpoints)],
                                "policy": {"service": "payments", "load_balancer": {"type": "round_robin"},
                                           "outlier_detection": {"consecutive_errors": 1000}}}],
                 "gateway_routes": {"routes": [
                   {"name": "maintenance", "match": {"path": {"prefix": "/down"}},
                    "destinations": [{"service": "payments", "subset": {"pool": "b"}}],
                    "fault": {"abort": {"status": 503, "percent": 100}}},
                   {"name": "slow", "match": {"path": {"prefix": "/slow"}},
                    "destinations": [{"service": "payments", "subset": {"pool": "slow"}}], "timeout": "150ms"},
                   {"name": "pool-a", "match": {"path": {"prefix": "/a"}},
                    "destinations": [{"service": "payments", "subset": {"pool": "a"}}]},
                   {"name": "terminals", "match": {"headers": [{"name": "x-terminal-id", "present": true}]},
                    "destinations": [{"service": "payments", "subset": {"pool": "b"}}],
                    "rate_limit": {"requests_per_second": 0.01, "burst": 2, "key_header": "x-terminal-id"}}
                 ]}}
                """)
            let gateway = try fixture.startGateway("edge", snapshot: snapshot)
            func call(_ path: String, _ headers: [String] = []) throws -> (code: Int, text: String) {
                let result = try Command.curl(
                    ["-s", "-i", "--http1.1"] + headers + ["http://127.0.0.1:\(gateway.http)\(path)"])
                return (Int(result.output.split(separator: " ").dropFirst().first ?? "") ?? -1, result.output)
            }
            // A limit per terminal: two each, then 429 with Retry-After; another
            // terminal is not held back by the first.
            for _ in 0..<2 { #expect(try call("/pay", ["-H", "x-terminal-id: T-1"]).code == 200) }
            let limited = try call("/pay", ["-H", "x-terminal-id: T-1"])
            #expect(limited.code == 429 && limited.text.lowercased().contains("retry-after:"), "\(limited.text)")
            #expect(try call("/pay", ["-H", "x-terminal-id: T-2"]).code == 200)
            // The rule's timeout: 504 from the gateway instead of the 200 the
            // application gives after 400 ms (no wall-clock check: a loaded
            // machine can delay any request).
            let slow = try call("/slow")
            #expect(slow.code == 504 && slow.text.contains("x-weft-proxy: weft-gateway"), "\(slow.text)")
            // Retries: half of pool a answers 503; every GET still succeeds.
            for _ in 0..<10 { #expect(try call("/a/charge").code == 200) }
            // A POST is not retried after a 503 the application gave.
            var failedPosts = 0
            for _ in 0..<10 where try call("/a/charge", ["-d", "x"]).code == 503 { failedPosts += 1 }
            #expect(failedPosts == 5, "round robin sends every other POST to the failing instance")
            // Fault injection answers for the service, which never hears of it.
            let down = try call("/down")
            #expect(down.code == 503 && down.text.contains("x-weft-error: fault-injected"), "\(down.text)")
        }
    }

    /// Rules that answer by themselves (a redirect, a maintenance page) and
    /// header changes both ways on a rule that forwards, over HTTP/1.1 and h2c.
    @Test func redirectsDirectResponsesAndHeaderChangesApplyPerRule() async throws {
        try await blocking {
            let fixture = try MeshFixture()
            defer { fixture.stop() }
            let snapshot = try fixture.paymentsBehindGateway(
                routes: """
                       {"name": "old-api", "match": {"path": {"prefix": "/v1"}},
                        "redirect": {"scheme": "https", "prefix": "/v2", "status": 308}},
                       {"name": "maintenance", "match": {"path": {"exact": "/refunds"}},
                        "direct_response": {"status": 503, "body": "refunds are back at six"},
                        "response_headers": {"set": {"retry-after": "3600"}}},
                       {"name": "pay", "match": {"path": {"prefix": "/pay"}}, "destinations": [{"service": "payments"}],
                        "rewrite": {"add_headers": {"x-via": "edge"}},
                        "response_headers": {"remove": ["x-echo-name"], "set": {"cache-control": "no-store"},
                                             "add": {"x-pos-api": "2"}}}
                    """)
            let accessLog = fixture.scratch.file("access.log")
            let gateway = try fixture.startGateway("edge", snapshot: snapshot, extra: ["--access-log", accessLog])
            for flag in ["--http1.1", "--http2-prior-knowledge"] {
                func call(_ path: String, _ extra: [String] = []) throws -> String {
                    try Command.curl(
                        ["-s", "-D", "-", flag, "-H", "Host: api.pos.test"] + extra
                            + ["http://127.0.0.1:\(gateway.http)\(path)"]
                    ).output.lowercased()
                }
                // The old API moved: 308 to the new prefix under https, query kept.
                let moved = try call("/v1/pay/7?till=3")
                #expect(moved.hasPrefix(flag == "--http1.1" ? "http/1.1 308" : "http/2 308"), "\(moved)")
                #expect(moved.contains("location: https://api.pos.test/v2/pay/7?till=3"), "\(moved)")
                #expect(moved.contains("x-weft-route: old-api") && moved.contains("x-weft-proxy: weft-gateway"))
                // A POST with a body gets the same answer and nothing is forwarded.
                let posted = try call("/v1/pay", ["-d", "amount=5"])
                #expect(posted.contains(" 308"), "\(flag): \(posted)")
                // Maintenance: the gateway's own page, with the rule's header.
                let down = try call("/refunds")
                #expect(down.contains(" 503") && down.hasSuffix("refunds are back at six"), "\(down)")
                #expect(down.contains("retry-after: 3600") && down.contains("content-type: text/plain; charset=utf-8"))
                // Forwarded: a header added on the way in, three changes on the way out.
                let paid = try call("/pay", ["-H", "x-via: client"])
                #expect(paid.contains(" 200"), "\(paid)")
                #expect(!paid.contains("x-echo-name:"), "\(paid)")
                #expect(paid.contains("cache-control: no-store") && paid.contains("x-pos-api: 2"), "\(paid)")
                // add keeps the client's value and appends the rule's.
                #expect(paid.contains(#"["x-via","client"]"#) && paid.contains(#"["x-via","edge"]"#), "\(paid)")
            }
            #expect(
                try Command.curl([
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(gateway.http)/pay",
                ]).output == "200")
            #expect(
                try Command.curl([
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(gateway.http)/nowhere",
                ]).output == "404")
            // Per rule and upstream in the metrics.
            let metrics = try Command.curl(["-s", "http://127.0.0.1:\(gateway.admin)/metrics"]).output
            for line in [
                #"weft_gateway_route_requests_total{route="pay",upstream="default/payments",status="2xx"} 3"#,
                #"weft_gateway_route_requests_total{route="old-api",upstream="local",status="3xx"} 4"#,
                #"weft_gateway_route_requests_total{route="maintenance",upstream="local",status="5xx"} 2"#,
                #"weft_gateway_route_request_duration_seconds_count{route="pay",upstream="default/payments"} 3"#,
                #"weft_gateway_peer_requests_total{direction="outbound",peer="default/payments",status="2xx"} 3"#,
                #"weft_gateway_peer_requests_total{direction="outbound",peer="local",status="3xx"} 4"#,
                #"weft_gateway_open_connections{listener="http"} "#,
            ] {
                #expect(metrics.contains(line), "\(line) not in \(metrics)")
            }
            // A JSON line per request in the access log, the refusal with its reason.
            var lines: [[String: Any]] = []
            Command.eventually(timeout: 5) {
                let text = (try? String(contentsOfFile: accessLog, encoding: .utf8)) ?? ""
                lines = text.split(separator: "\n").compactMap { try? Command.object(String($0)) }
                return lines.count == 10
            }
            #expect(lines.count == 10, "\(lines)")
            let paid = lines.first { $0["route"] as? String == "pay" }
            #expect(paid?["method"] as? String == "GET" && paid?["path"] as? String == "/pay")
            #expect(paid?["status"] as? Int == 200 && paid?["upstream"] as? String == "default/payments")
            #expect(paid?["authority"] as? String == "api.pos.test" && paid?["client"] as? String == "127.0.0.1")
            #expect((paid?["traceparent"] as? String)?.count == 55 && paid?["proxy"] as? String == "weft-gateway")
            #expect((paid?["time"] as? String)?.hasSuffix("Z") == true && paid?["duration_ms"] is Double)
            let missed = lines.last
            #expect(
                missed?["status"] as? Int == 404 && missed?["error"] as? String == "no-route",
                "\(String(describing: missed))")
            // Sampled to nothing: requests are served, no line is written.
            let silentLog = fixture.scratch.file("silent.log")
            let sampled = try fixture.startGateway(
                "edge", snapshot: snapshot, extra: ["--access-log", silentLog, "--access-log-sample", "0"])
            for _ in 0..<3 {
                #expect(
                    try Command.curl([
                        "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(sampled.http)/pay",
                    ]).output == "200")
            }
            // Stopped, the gateway has flushed whatever its writer held.
            #expect(ChildProcess.succeeded(sampled.process.stop()), "\(sampled.process.output)")
            #expect(((try? String(contentsOfFile: silentLog, encoding: .utf8)) ?? "x").isEmpty)
        }
    }
}
