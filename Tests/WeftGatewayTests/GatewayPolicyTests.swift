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
                    credentials: try fixture.credentials(for: MeshFixture.identity("payments"), name: "payments-\(index)"))
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
                let result = try Command.curl(["-s", "-i", "--http1.1"] + headers + ["http://127.0.0.1:\(gateway.http)\(path)"])
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
}
