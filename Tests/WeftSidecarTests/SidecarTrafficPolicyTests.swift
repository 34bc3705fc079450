import Foundation
import Testing
import WeftTestSupport

/// Traffic policy on real traffic: a frontend sidecar calling several instances
/// of `backend` (each weft-echo behind its own sidecar, some made slow or
/// failing), driven by h2load and curl. What each instance received is read from
/// its sidecar's `/metrics`.
@Suite(.serialized) struct SidecarTrafficPolicyTests {
    struct Instance {
        let echo: Int
        let sidecar: MeshFixture.Sidecar
    }

    /// Starts instance `index` of backend: weft-echo (h2c) with `echo` flags, and
    /// its sidecar, which allows frontend and middle.
    static func startInstance(
        _ mesh: MeshFixture, _ index: Int, service: String = "backend", echo: [String] = [], echoPort: Int = 0,
        inbound: Int = 0, appProtocol: String = "http2", sidecarFlags: [String] = []
    ) throws -> Instance {
        let port = try mesh.startEcho(name: "\(service)-\(index)", port: echoPort, extra: echo)
        let allow = try mesh.snapshot(
            "\(service)-\(index)-\(UUID().uuidString).json",
            intentions: [
                (MeshFixture.identity("frontend"), service, "allow"),
                (MeshFixture.identity("middle"), service, "allow"),
            ])
        let sidecar = try mesh.startSidecar(
            service, app: port, appProtocol: appProtocol, snapshot: allow,
            credentials: try mesh.credentials(
                for: MeshFixture.identity(service), name: "\(service)-\(index)-\(UUID().uuidString)"),
            extra: sidecarFlags, inbound: inbound)
        return Instance(echo: port, sidecar: sidecar)
    }

    /// A snapshot whose one upstream is `service` with these endpoints (inbound
    /// ports, zones, labels), its policy's JSON members and its routes.
    static func snapshot(
        _ mesh: MeshFixture, service: String = "backend",
        endpoints: [(port: Int, zone: String?, labels: [String: String])], policy: String = "", routes: String = "",
        more: String = ""
    ) throws -> String {
        let list = endpoints.enumerated().map { index, endpoint in
            let zone = endpoint.zone.map { #", "zone": "\#($0)""# } ?? ""
            let labels = endpoint.labels.map { #""\#($0.key)": "\#($0.value)""# }.joined(separator: ", ")
            return
                #"{"instance": "\#(service)-\#(index)", "address": "127.0.0.1", "port": \#(endpoint.port)\#(zone), "labels": {\#(labels)}}"#
        }.joined(separator: ", ")
        let policyJSON = #"{"service": "\#(service)"\#(policy.isEmpty ? "" : ", " + policy)}"#
        let text = """
            {"version": 1, "generated_at": "2026-11-27T00:00:00Z",
             "defaults": {"default_action": "deny", "trust_domain": "\(MeshFixture.trustDomain)"},
             "upstreams": [{"service": {"service": "\(service)"}, "protocol": "http2", "endpoints": [\(list)],
                            "policy": \(policyJSON), "routes": {"routes": [\(routes)]}}\(more)]}
            """
        return try mesh.scratch.write("frontend-\(UUID().uuidString).json", text)
    }

    static func frontend(
        _ mesh: MeshFixture, snapshot: String, upstream: String = "backend", extra: [String] = []
    ) throws -> MeshFixture.Sidecar {
        try mesh.startSidecar("frontend", app: 1, snapshot: snapshot, upstreams: [upstream], extra: extra)
    }

    /// A counter from a sidecar's /metrics (the sum over lines that start with `prefix`).
    static func metric(_ sidecar: MeshFixture.Sidecar, _ prefix: String) throws -> Int {
        let text = try Command.curl(["-s", "http://127.0.0.1:\(sidecar.admin)/metrics"]).output
        return text.split(separator: "\n").filter { $0.hasPrefix(prefix) }.reduce(0) {
            $0 + (Int($1.split(separator: " ").last ?? "") ?? 0)
        }
    }

    /// Requests an instance's sidecar passed to its application.
    static func received(_ instance: Instance) throws -> Int {
        try metric(instance.sidecar, "weft_sidecar_requests_total{direction=\"inbound\"")
    }

    /// h2load against `port`: (succeeded, failed, 2xx, 5xx) and the report.
    static func load(_ port: Int, _ arguments: [String]) throws -> (
        succeeded: Int, failed: Int, ok: Int, serverErrors: Int, output: String
    ) {
        let run = try Command.run("/usr/bin/h2load", arguments + ["http://127.0.0.1:\(port)/load"])
        func number(before suffix: String, in line: Substring?) -> Int {
            guard let line, let range = line.range(of: suffix) else { return -1 }
            return Int(line[..<range.lowerBound].split(separator: " ").last ?? "") ?? -1
        }
        let lines = run.output.split(separator: "\n")
        let requests = lines.first { $0.hasPrefix("requests:") }
        let codes = lines.first { $0.hasPrefix("status codes:") }
        return (
            number(before: " succeeded", in: requests), number(before: " failed", in: requests),
            number(before: " 2xx", in: codes), number(before: " 5xx", in: codes), run.output
        )
    }

    // MARK: Retries and outlier detection

    @Test func anInstanceKilledUnderSteadyLoadFailsNoIdempotentRequest() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let instances = try (0..<3).map { try Self.startInstance(mesh, $0) }
            let snapshot = try Self.snapshot(
                mesh, endpoints: instances.map { ($0.sidecar.inbound, nil, [:]) },
                policy: #""outlier_detection": {"consecutive_errors": 2, "base_ejection_time": "10s"}"#)
            let frontend = try Self.frontend(mesh, snapshot: snapshot)
            let port = frontend.upstreams["backend"]!
            // Kill one instance's sidecar outright a second into the run.
            let victim = instances[1].sidecar.process
            DispatchQueue.global().asyncAfter(deadline: .now() + 1) { victim.signal(SIGKILL) }
            let run = try Self.load(port, ["-D", "3", "-c", "4", "-m", "8"])
            // Enough traffic to straddle the kill (a debug build on a loaded
            // machine managed 407 once; how many is not what this is about).
            #expect(run.succeeded > 100, "\(run.output)")
            let errors = try Command.curl(["-s", "http://127.0.0.1:\(frontend.admin)/metrics"]).output
                .split(separator: "\n").filter { $0.contains("proxy_errors_total{") }
            #expect(run.failed == 0 && run.ok == run.succeeded, "\(errors) \(run.output)")
            #expect(try Self.metric(frontend, "weft_sidecar_policy_events_total{event=\"retry\"}") >= 1)
            #expect(try Self.metric(frontend, "weft_sidecar_policy_events_total{event=\"ejection\"}") >= 1)
        }
    }

    @Test func aSlowInstanceLosesItsShareUnderPeakEWMA() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let instances = try (0..<3).map {
                try Self.startInstance(mesh, $0, echo: $0 == 2 ? ["--delay-ms", "150"] : [])
            }
            let snapshot = try Self.snapshot(mesh, endpoints: instances.map { ($0.sidecar.inbound, nil, [:]) })
            let frontend = try Self.frontend(mesh, snapshot: snapshot)
            let run = try Self.load(frontend.upstreams["backend"]!, ["-n", "3000", "-c", "4", "-m", "4"])
            #expect(run.ok == 3000, "\(run.output)")
            let counts = try instances.map { try Self.received($0) }
            let share = Double(counts[2]) / Double(counts.reduce(0, +))
            // An even split would give it a third; unloaded it takes a few
            // per cent. Its delay is far above what a loaded machine adds to
            // the others (a 30 ms delay took 18.6 % once in CI, with a fuzzer
            // building beside the suite), and the bound is half of an even share.
            #expect(share < 0.17, "slow instance took \(counts[2]) of \(counts): \(share)")
            print("slow instance's share under peak-EWMA: \(counts) → \(String(format: "%.1f", share * 100)) %")
        }
    }

    @Test func aFailingInstanceIsEjectedAndComesBack() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            var instances = try (0..<2).map { try Self.startInstance(mesh, $0) }
            let failing = try mesh.startEcho(name: "backend-2", extra: ["--status", "503"])
            let allow = try mesh.snapshot(
                "failing.json", intentions: [(MeshFixture.identity("frontend"), "backend", "allow")])
            let failingSidecar = try mesh.startSidecar(
                "backend", app: failing, appProtocol: "http2", snapshot: allow,
                credentials: try mesh.credentials(for: MeshFixture.identity("backend"), name: "backend-failing"))
            instances.append(Instance(echo: failing, sidecar: failingSidecar))
            let snapshot = try Self.snapshot(
                mesh, endpoints: instances.map { ($0.sidecar.inbound, nil, [:]) },
                // Round robin: every third request goes to it, whatever the latency
                // of a loaded machine makes peak-EWMA think of it.
                policy: #"""
                    "load_balancer": {"type": "round_robin"},
                    "outlier_detection": {"consecutive_errors": 3, "base_ejection_time": "8s", "max_ejection_percent": 50}
                    """#)
            let frontend = try Self.frontend(mesh, snapshot: snapshot)
            let port = frontend.upstreams["backend"]!
            // Every GET succeeds (a 503 is retried elsewhere); the failing instance
            // gets three and is ejected.
            let first = try Self.load(port, ["-n", "60", "-c", "1", "-m", "1"])
            #expect(first.ok == 60, "\(first.output)")
            let afterFirst = try Self.received(instances[2])
            let firstCounts = try instances.map { try Self.received($0) }
            #expect(afterFirst >= 3 && afterFirst <= 4, "the failing instance received \(afterFirst) of \(firstCounts)")
            #expect(try Self.metric(frontend, "weft_sidecar_policy_events_total{event=\"ejection\"}") == 1)
            // The operator sees it: weftctl proxy endpoints, from the admin port.
            let weftctl = ChildProcess.builtProduct("weftctl")
            let admin = "http://127.0.0.1:\(frontend.admin)"
            let listed = try Command.run(weftctl, ["proxy", "endpoints", "--admin", admin, "-o", "json"])
            let endpoints = try Command.object(listed.output)["endpoints"] as? [[String: Any]] ?? []
            // (By its ejection count, which outlives the ejection itself.)
            let ejected = endpoints.filter { ($0["ejections"] as? Int ?? 0) > 0 }
            #expect(endpoints.count == 3, "\(listed.output)")
            #expect(
                ejected.count == 1 && ejected.first?["endpoint"] as? String == "127.0.0.1:\(failingSidecar.inbound)")
            #expect(ejected.first?["ejections"] as? Int == 1, "\(listed.output)")
            let table = try Command.run(weftctl, ["proxy", "endpoints", "--admin", admin]).output
            #expect(table.contains("EJECTED") && table.contains("default/backend"), "\(table)")
            // Its ejection ends by itself (8 s: longer than a loaded machine
            // takes for the first load, which must all fall inside it): it is
            // tried again (and, still failing, ejected again, now for twice as long).
            let failingEndpoint = "127.0.0.1:\(failingSidecar.inbound)"
            func stillEjected() -> Bool {
                let text = (try? Command.curl(["\(admin)/endpoints"]).output) ?? ""
                let reports = (try? Command.object(text))?["endpoints"] as? [[String: Any]] ?? []
                let report = reports.first { $0["endpoint"] as? String == failingEndpoint }
                return (report?["ejected_for_ms"] as? Int ?? 1) > 0
            }
            Command.eventually(timeout: 30) { !stillEjected() }
            #expect(!stillEjected(), "the ejection never ended")
            let second = try Self.load(port, ["-n", "60", "-c", "1", "-m", "1"])
            #expect(second.ok == 60, "\(second.output)")
            let afterSecond = try Self.received(instances[2])
            #expect(afterSecond > afterFirst && afterSecond <= afterFirst + 4, "\(afterFirst) → \(afterSecond)")
            #expect(try Self.metric(frontend, "weft_sidecar_policy_events_total{event=\"ejection\"}") == 2)
        }
    }

    @Test func retriesToAnUpstreamThatFailsEverythingStayWithinTheBudget() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let instances = try (0..<2).map { try Self.startInstance(mesh, $0, echo: ["--status", "503"]) }
            let snapshot = try Self.snapshot(
                mesh, endpoints: instances.map { ($0.sidecar.inbound, nil, [:]) },
                policy: #"""
                    "retry_budget": {"percent": 20, "min_retries_per_second": 0, "window": "10s"},
                    "outlier_detection": {"consecutive_errors": 1000}
                    """#)
            let frontend = try Self.frontend(mesh, snapshot: snapshot)
            let run = try Self.load(frontend.upstreams["backend"]!, ["-n", "200", "-c", "1", "-m", "1"])
            #expect(run.serverErrors == 200, "\(run.output)")
            let upstream = try instances.reduce(0) { $0 + (try Self.received($1)) }
            // Two retries each would be 600; the budget allows a fifth of 200 more.
            #expect(upstream >= 200 && upstream <= 241, "the upstream received \(upstream) for 200 requests")
            #expect(
                try Self.metric(frontend, "weft_sidecar_policy_events_total{event=\"retry_budget_exhausted\"}") > 100)
        }
    }

    // MARK: Circuit breaking

    @Test func aBreakerAnswers503AtOnceInsteadOfQueueing() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let backend = try Self.startInstance(mesh, 0, echo: ["--delay-ms", "300"])
            let snapshot = try Self.snapshot(
                mesh, endpoints: [(backend.sidecar.inbound, nil, [:])],
                policy: #""circuit_breaker": {"max_requests": 2}"#)
            let frontend = try Self.frontend(mesh, snapshot: snapshot, extra: ["--threads", "1"])
            let port = frontend.upstreams["backend"]!
            // Ten at once on one connection: two go through, eight are refused at
            // once (queued, they would all have been served in turn).
            let run = try Self.load(port, ["-n", "10", "-c", "1", "-m", "10"])
            #expect(run.ok == 2 && run.serverErrors == 8, "\(run.output)")
            #expect(try Self.metric(frontend, "weft_sidecar_policy_events_total{event=\"circuit_open\"}") == 8)
            let refused = try Self.call(port, "/one-more", [])
            // Nothing in flight now: admitted again.
            #expect(refused.status == 200, "\(refused.text)")
            #expect(try Self.received(backend) == 3)
        }
    }

    // MARK: Deadlines

    /// frontend → middle (inbound) → its application, which is middle's own
    /// outbound port → last → weft-echo: the deadline set at the first hop
    /// shrinks at each, and expires in the middle with 504.
    @Test func aDeadlineShrinksAtEveryHopAndExpiresWith504() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let last = try Self.startInstance(mesh, 0, service: "last", echo: ["--delay-ms", "300"])
            // middle's outbound side: calls last.
            let outboundSnapshot = try Self.snapshot(
                mesh, service: "last", endpoints: [(last.sidecar.inbound, nil, [:])])
            let middleOut = try mesh.startSidecar(
                "middle", app: 1, snapshot: outboundSnapshot, upstreams: ["last"],
                credentials: try mesh.credentials(for: MeshFixture.identity("middle"), name: "middle-out"))
            // middle's inbound side: its "application" is that outbound port (h2c).
            let inboundSnapshot = try mesh.snapshot(
                "middle-in.json", intentions: [(MeshFixture.identity("frontend"), "middle", "allow")])
            let middleIn = try mesh.startSidecar(
                "middle", app: middleOut.upstreams["last"]!, appProtocol: "http2", snapshot: inboundSnapshot,
                credentials: try mesh.credentials(for: MeshFixture.identity("middle"), name: "middle-in"))
            let frontendSnapshot = try Self.snapshot(
                mesh, service: "middle", endpoints: [(middleIn.inbound, nil, [:])],
                policy: #""timeouts": {"request": "2s"}"#)
            let frontend = try Self.frontend(mesh, snapshot: frontendSnapshot, upstream: "middle")
            let port = frontend.upstreams["middle"]!
            // In time: the last hop sees what is left of the two seconds.
            let answered = try Command.curl(["-s", "--http2-prior-knowledge", "http://127.0.0.1:\(port)/slow"])
            let report = try Command.object(answered.output)
            let headers = report["headers"] as? [[String]] ?? []
            let field: [String]? = headers.first { $0.first == "x-weft-deadline-ms" }
            let left: Int = field.flatMap { Int($0.last ?? "") } ?? -1
            #expect(left > 1000 && left < 2000, "the last hop saw \(left) ms left: \(answered.output)")
            // Too short: 504 from the mesh, instead of the application's answer.
            let expired = try Command.curl([
                "-s", "-o", "/dev/null", "-D", "-", "--http2-prior-knowledge", "-H", "x-weft-deadline-ms: 150",
                "http://127.0.0.1:\(port)/slow",
            ])
            #expect(expired.output.hasPrefix("HTTP/2 504"), "\(expired.output)")
            #expect(expired.output.contains("x-weft-error: deadline-exceeded"), "\(expired.output)")
            _ = middleIn
        }
    }

    @Test func anHTTP1ApplicationIsHeldToTheDeadlineToo() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let backend = try Self.startInstance(mesh, 0, echo: ["--delay-ms", "400"], appProtocol: "http")
            let frontend = try Self.frontend(
                mesh, snapshot: try Self.snapshot(mesh, endpoints: [(backend.sidecar.inbound, nil, [:])]))
            let port = frontend.upstreams["backend"]!
            // 504 rather than the 200 the application gives after 400 ms.
            let expired = try Self.call(port, "/slow", ["-H", "x-weft-deadline-ms: 150"])
            #expect(expired.status == 504 && expired.text.contains("deadline-exceeded"), "\(expired.text)")
            // The application's connection, cut mid-exchange, is not reused: the
            // next request is answered in full.
            let next = try Self.call(port, "/after", ["-H", "x-weft-deadline-ms: 3000"])
            #expect(next.status == 200 && next.text.contains("/after"), "\(next.text)")
        }
    }

    // MARK: Locality and traffic shifting

    @Test func aZoneThatLosesItsEndpointsFailsOverAndComesBack() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            var instances = try (0..<4).map { try Self.startInstance(mesh, $0) }
            let zones = ["a", "a", "b", "b"]
            let snapshot = try Self.snapshot(
                mesh, endpoints: instances.enumerated().map { ($1.sidecar.inbound, zones[$0], [:]) },
                policy: #""outlier_detection": {"consecutive_errors": 1, "base_ejection_time": "1s"}"#)
            let frontend = try Self.frontend(mesh, snapshot: snapshot, extra: ["--zone", "a"])
            let port = frontend.upstreams["backend"]!
            func received() throws -> [Int] { try instances.map { try Self.received($0) } }
            let first = try Self.load(port, ["-n", "300", "-c", "2", "-m", "2"])
            #expect(first.ok == 300, "\(first.output)")
            let local = try received()
            #expect(local[0] + local[1] == 300 && local[2] + local[3] == 0, "\(local)")
            // Zone a is lost: everything goes to b, and nothing fails.
            for index in 0..<2 { instances[index].sidecar.process.signal(SIGKILL) }
            let second = try Self.load(port, ["-n", "300", "-c", "2", "-m", "2"])
            let errors = try Command.curl(["-s", "http://127.0.0.1:\(frontend.admin)/metrics"]).output
                .split(separator: "\n").filter { $0.contains("proxy_errors_total{") }
            #expect(second.ok == 300, "\(errors) \(second.output)")
            let failedOver = try received()
            #expect(failedOver[2] + failedOver[3] - local[2] - local[3] == 300, "\(failedOver)")
            // Zone a returns on the same ports: once its ejections end, it takes
            // its traffic back.
            for index in 0..<2 {
                instances[index] = try Self.startInstance(mesh, index + 10, inbound: instances[index].sidecar.inbound)
            }
            // Once neither is ejected any longer (each ejection during the
            // outage doubled the next one's length, so no fixed pause fits).
            let zoneA = Set((0..<2).map { "127.0.0.1:\(instances[$0].sidecar.inbound)" })
            func zoneAEjected() -> Bool {
                let text = (try? Command.curl(["http://127.0.0.1:\(frontend.admin)/endpoints"]).output) ?? ""
                let reports = (try? Command.object(text))?["endpoints"] as? [[String: Any]] ?? []
                let local = reports.filter { zoneA.contains($0["endpoint"] as? String ?? "") }
                return local.count != 2 || local.contains { ($0["ejected_for_ms"] as? Int ?? 1) > 0 }
            }
            Command.eventually(timeout: 60) { !zoneAEjected() }
            #expect(!zoneAEjected(), "zone a's endpoints stayed ejected")
            let third = try Self.load(port, ["-n", "300", "-c", "2", "-m", "2"])
            #expect(third.ok == 300, "\(third.output)")
            let back = try received()
            #expect(back[0] + back[1] >= 290, "\(back)")
        }
    }

    @Test func aNinetyTenSplitHoldsWithinThreePointsOverTenThousandRequests() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let instances = try (0..<2).map { try Self.startInstance(mesh, $0) }
            let routes = #"""
                {"name": "canary", "destinations": [
                  {"service": "backend", "subset": {"version": "v1"}, "weight": 90},
                  {"service": "backend", "subset": {"version": "v2"}, "weight": 10}]}
                """#
            let snapshot = try Self.snapshot(
                mesh,
                endpoints: [
                    (instances[0].sidecar.inbound, nil, ["version": "v1"]),
                    (instances[1].sidecar.inbound, nil, ["version": "v2"]),
                ], routes: routes)
            let frontend = try Self.frontend(mesh, snapshot: snapshot)
            let run = try Self.load(frontend.upstreams["backend"]!, ["-n", "10000", "-c", "4", "-m", "16"])
            #expect(run.ok == 10000, "\(run.output)")
            let canary = try Self.received(instances[1])
            let share = Double(canary) / 100
            #expect(abs(share - 10) <= 3, "v2 took \(canary) of 10,000 (\(share) %)")
            print("90/10 split over 10,000 requests: v2 took \(share) %")
        }
    }

    // MARK: Rate limits, faults, mirrors, rewrites

    /// A request through `port` with curl: (status, headers and body).
    static func call(_ port: Int, _ path: String, _ extra: [String] = []) throws -> (status: Int, text: String) {
        let result = try Command.curl(
            ["-s", "-D", "-", "--http2-prior-knowledge"] + extra + ["http://127.0.0.1:\(port)\(path)"])
        let status = Int(result.output.split(separator: " ").dropFirst().first ?? "") ?? -1
        return (status, result.output)
    }

    @Test func routeLimitsPerTerminalAndInboundLimitsPerCallerAnswer429() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let echo = try mesh.startEcho(name: "backend")
            let backendSnapshot = try mesh.scratch.write(
                "backend-limited.json",
                """
                {"version": 1, "generated_at": "2026-11-27T00:00:00Z",
                 "defaults": {"default_action": "deny", "trust_domain": "\(MeshFixture.trustDomain)"},
                 "inbound_intentions": [
                   {"source": "\(MeshFixture.identity("frontend"))", "destination": "backend", "action": "allow"},
                   {"source": "\(MeshFixture.identity("other"))", "destination": "backend", "action": "allow"}],
                 "inbound_policy": {"service": "backend", "rate_limit": {"requests_per_second": 0.01, "burst": 3}}}
                """)
            let backend = try mesh.startSidecar("backend", app: echo, appProtocol: "http2", snapshot: backendSnapshot)
            let routes = #"""
                {"name": "per-terminal", "destinations": [{"service": "backend"}],
                 "rate_limit": {"requests_per_second": 0.01, "burst": 2, "key_header": "x-terminal-id"}}
                """#
            let snapshot = try Self.snapshot(mesh, endpoints: [(backend.inbound, nil, [:])], routes: routes)
            let frontend = try Self.frontend(mesh, snapshot: snapshot)
            let other = try mesh.startSidecar("other", app: 1, snapshot: snapshot, upstreams: ["backend"])
            let port = frontend.upstreams["backend"]!
            let terminal1 = ["-H", "x-terminal-id: t1"]
            let terminal2 = ["-H", "x-terminal-id: t2"]
            #expect(try Self.call(port, "/", terminal1).status == 200)
            #expect(try Self.call(port, "/", terminal1).status == 200)
            // Terminal 1 has used its two: 429 from the route, with when to come back.
            let limited = try Self.call(port, "/", terminal1)
            #expect(limited.status == 429, "\(limited.text)")
            #expect(limited.text.contains("retry-after: "), "\(limited.text)")
            #expect(limited.text.contains("route per-terminal is over its rate limit"), "\(limited.text)")
            // Terminal 2 has its own bucket; but frontend has now made three calls
            // that reached backend, whose inbound side allows three per caller.
            #expect(try Self.call(port, "/", terminal2).status == 200)
            let inbound = try Self.call(port, "/", terminal2)
            #expect(inbound.status == 429, "\(inbound.text)")
            #expect(
                inbound.text.contains("exceeded default.backend's rate limit") || inbound.text.contains("rate limit"))
            #expect(inbound.text.contains("x-weft-error: rate-limited"))
            // Another caller has its own share.
            #expect(try Self.call(other.upstreams["backend"]!, "/", ["-H", "x-terminal-id: t9"]).status == 200)
            #expect(try Self.metric(backend, "weft_sidecar_policy_events_total{event=\"rate_limited\"}") == 1)
            #expect(try Self.metric(frontend, "weft_sidecar_policy_events_total{event=\"rate_limited\"}") == 1)
        }
    }

    @Test func faultsAbortAndDelayAMirrorGetsACopyAndRewritesApply() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let backend = try Self.startInstance(mesh, 0)
            let shadow = try Self.startInstance(mesh, 0, service: "shadow")
            let routes = #"""
                {"name": "abort", "match": {"path": {"prefix": "/abort"}}, "destinations": [{"service": "backend"}],
                 "fault": {"abort": {"status": 503, "percent": 100}}},
                {"name": "delay", "match": {"path": {"prefix": "/slow"}}, "destinations": [{"service": "backend"}],
                 "fault": {"delay": {"duration": "250ms", "percent": 100}}},
                {"name": "v1", "match": {"path": {"prefix": "/v1"}}, "destinations": [{"service": "backend"}],
                 "rewrite": {"prefix": "/api/v1", "set_headers": {"x-rewritten": "yes"}},
                 "mirror": {"service": "shadow", "percent": 100}}
                """#
            let shadowUpstream = #"""
                , {"service": {"service": "shadow"}, "protocol": "http2",
                   "endpoints": [{"instance": "shadow-0", "address": "127.0.0.1", "port": \#(shadow.sidecar.inbound)}]}
                """#
            let snapshot = try Self.snapshot(
                mesh, endpoints: [(backend.sidecar.inbound, nil, [:])], routes: routes, more: shadowUpstream)
            let frontend = try Self.frontend(mesh, snapshot: snapshot)
            let port = frontend.upstreams["backend"]!
            // Abort: the proxy answers, the backend never hears of it.
            let aborted = try Self.call(port, "/abort/x")
            #expect(aborted.status == 503 && aborted.text.contains("x-weft-error: fault-injected"), "\(aborted.text)")
            #expect(try Self.received(backend) == 0)
            // Delay: the answer comes, a quarter second late.
            let started = Date()
            #expect(try Self.call(port, "/slow").status == 200)
            #expect(Date().timeIntervalSince(started) >= 0.25)
            // Rewrite: the backend sees the new path and header; the mirror gets a
            // copy of each request, with a body too, and its answers go nowhere.
            let rewritten = try Command.curl(["-s", "--http2-prior-knowledge", "http://127.0.0.1:\(port)/v1/items?q=1"])
            let report = try Command.object(rewritten.output)
            #expect(report["path"] as? String == "/api/v1/items?q=1", "\(rewritten.output)")
            let headers = report["headers"] as? [[String]] ?? []
            #expect(headers.contains { $0 == ["x-rewritten", "yes"] }, "\(headers)")
            let posted = try Self.call(port, "/v1/orders", ["-d", "order=1"])
            #expect(posted.status == 200)
            Command.eventually(timeout: 5) { (try? Self.received(shadow)) == 2 }
            #expect(try Self.received(shadow) == 2)
            #expect(try Self.received(backend) == 3)
        }
    }

    // MARK: Authorization

    @Test func theAuthorizationMatrixHoldsAndChangesLive() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let echo = try mesh.startEcho(name: "backend")
            func intentions(allowThird: Bool) -> String {
                let frontend = MeshFixture.identity("frontend")
                let third =
                    allowThird
                    ? #", {"source": "\#(MeshFixture.identity("third"))", "destination": "backend", "action": "allow"}"#
                    : ""
                return """
                    {"version": \(allowThird ? 2 : 1), "generated_at": "2026-11-27T00:00:00Z",
                     "defaults": {"default_action": "deny", "trust_domain": "\(MeshFixture.trustDomain)"},
                     "inbound_intentions": [
                       {"source": "\(frontend)", "destination": "backend", "action": "allow", "methods": ["GET"],
                        "path": {"prefix": "/public"}},
                       {"source": "\(frontend)", "destination": "backend", "action": "allow", "path": {"prefix": "/admin"},
                        "headers": [{"name": "x-role", "exact": "admin"}]},
                       {"source": "\(MeshFixture.identity("other"))", "destination": "backend", "action": "deny"}\(third)]}
                    """
            }
            let backendSnapshot = try mesh.scratch.write("backend-authz.json", intentions(allowThird: false))
            let backend = try mesh.startSidecar("backend", app: echo, appProtocol: "http2", snapshot: backendSnapshot)
            let snapshot = try Self.snapshot(mesh, endpoints: [(backend.inbound, nil, [:])])
            let frontend = try Self.frontend(mesh, snapshot: snapshot).upstreams["backend"]!
            let other = try mesh.startSidecar("other", app: 1, snapshot: snapshot, upstreams: ["backend"]).upstreams[
                "backend"]!
            let third = try mesh.startSidecar("third", app: 1, snapshot: snapshot, upstreams: ["backend"]).upstreams[
                "backend"]!
            let matrix: [(port: Int, path: String, extra: [String], status: Int)] = [
                (frontend, "/public/a", [], 200),
                (frontend, "/public/a", ["-X", "DELETE"], 403),
                (frontend, "/private", [], 403),
                (frontend, "/admin/x", ["-H", "x-role: admin"], 200),
                (frontend, "/admin/x", ["-H", "x-role: guest"], 403),
                (frontend, "/admin/x", [], 403),
                (other, "/public/a", [], 403),
                (third, "/public/a", [], 403),
            ]
            for row in matrix {
                let answer = try Self.call(row.port, row.path, row.extra)
                #expect(answer.status == row.status, "\(row.path) \(row.extra): \(answer.text)")
                if row.status == 403 { #expect(answer.text.contains("x-weft-error: denied"), "\(answer.text)") }
            }
            // A line per denial on the backend's side, naming the rule.
            let denials = backend.process.output.split(separator: "\n").filter { $0.contains("denied") }
            #expect(denials.count == 6, "\(denials)")
            #expect(denials.contains { $0.contains("mesh default") })
            // A change applies to new requests without a restart.
            try intentions(allowThird: true).write(toFile: backendSnapshot, atomically: true, encoding: .utf8)
            Command.eventually(timeout: 10) { (try? Self.call(third, "/public/a").status) == 200 }
            #expect(try Self.call(third, "/public/a").status == 200)
            #expect(try Self.call(other, "/public/a").status == 403)
        }
    }

    /// A service route may answer by itself too: the caller's own sidecar
    /// answers, and the service never hears of the request.
    @Test func serviceRoutesAnswerThemselvesAndChangeResponseHeaders() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let inboundLog = mesh.scratch.file("inbound.log")
            let outboundLog = mesh.scratch.file("outbound.log")
            let backend = try Self.startInstance(mesh, 0, sidecarFlags: ["--access-log", inboundLog])
            let snapshot = try Self.snapshot(
                mesh, endpoints: [(backend.sidecar.inbound, nil, [:])],
                routes: """
                    {"name": "retired", "match": {"path": {"prefix": "/legacy"}},
                     "direct_response": {"status": 410, "body": "{\\"error\\": \\"retired\\"}", "content_type": "application/json"}},
                    {"name": "moved", "match": {"path": {"exact": "/old"}}, "redirect": {"path": "/new", "status": 301}},
                    {"name": "all", "destinations": [{"service": "backend"}],
                     "response_headers": {"set": {"x-served-by": "mesh"}}}
                    """)
            let frontend = try Self.frontend(mesh, snapshot: snapshot, extra: ["--access-log", outboundLog])
            let port = frontend.upstreams["backend"]!
            let retired = try Self.call(port, "/legacy/orders")
            #expect(retired.status == 410 && retired.text.hasSuffix(#"{"error": "retired"}"#), "\(retired.text)")
            #expect(retired.text.contains("content-type: application/json"))
            #expect(retired.text.contains("x-weft-proxy: weft-sidecar"))
            let moved = try Self.call(port, "/old?a=1")
            #expect(
                moved.status == 301 && moved.text.contains("location: http://127.0.0.1:\(port)/new?a=1"),
                "\(moved.text)")
            let served = try Self.call(port, "/orders")
            #expect(served.status == 200 && served.text.contains("x-served-by: mesh"), "\(served.text)")
            #expect(try Self.received(backend) == 1)
            // Both sides log the call: the caller's sidecar with the rule that
            // took it, the service's with who called.
            func lines(_ path: String, _ count: Int) -> [[String: Any]] {
                var lines: [[String: Any]] = []
                Command.eventually(timeout: 5) {
                    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
                    lines = text.split(separator: "\n").compactMap { try? Command.object(String($0)) }
                    return lines.count >= count
                }
                return lines
            }
            let outbound = lines(outboundLog, 3)
            #expect(outbound.map { $0["route"] as? String } == ["retired", "moved", "all"], "\(outbound)")
            #expect(outbound.map { $0["status"] as? Int } == [410, 301, 200])
            #expect(
                outbound.allSatisfy {
                    $0["direction"] as? String == "outbound" && $0["proxy"] as? String == "weft-sidecar"
                })
            let inbound = lines(inboundLog, 1)
            #expect(inbound.count == 1 && inbound.first?["path"] as? String == "/orders", "\(inbound)")
            #expect(inbound.first?["caller"] as? String == MeshFixture.identity("frontend"))
            #expect(
                inbound.first?["upstream"] as? String == "application"
                    && inbound.first?["direction"] as? String == "inbound")
            #expect(inbound.first?["traceparent"] as? String == outbound.last?["traceparent"] as? String)
            // What the caller's sidecar runs on, from its admin port and weftctl.
            let weftctl = ChildProcess.builtProduct("weftctl")
            let config = try Command.run(weftctl, ["proxy", "config", "--admin", "http://127.0.0.1:\(frontend.admin)"])
            let running = try Command.object(config.output)
            let upstream = (running["upstreams"] as? [[String: Any]])?.first
            #expect((upstream?["service"] as? [String: Any])?["service"] as? String == "backend", "\(config.output)")
            let routes = ((upstream?["routes"] as? [String: Any])?["routes"] as? [[String: Any]]) ?? []
            #expect(routes.map { $0["name"] as? String } == ["retired", "moved", "all"])
            #expect(running["version"] as? Int == 1)
            // Per peer: the caller's sidecar counts the service it called, the
            // service's sidecar the identity that called it.
            #expect(
                try Self.metric(
                    frontend,
                    #"weft_sidecar_peer_requests_total{direction="outbound",peer="default/backend",status="2xx"}"#) == 1
            )
            let inboundMetrics = try Command.curl(["-s", "http://127.0.0.1:\(backend.sidecar.admin)/metrics"]).output
            #expect(
                inboundMetrics.contains(
                    #"weft_sidecar_peer_requests_total{direction="inbound",peer="spiffe://weft.local/ns/default/sa/frontend",status="2xx"} 1"#
                ),
                "\(inboundMetrics)")
            #expect(inboundMetrics.contains(#"weft_sidecar_open_connections{listener="inbound"}"#), "\(inboundMetrics)")
            let unreachable = try Command.run(weftctl, ["proxy", "config", "--admin", "http://127.0.0.1:1"])
            #expect(
                unreachable.status != 0 && unreachable.errors.contains("cannot reach the admin port"), "\(unreachable)")
        }
    }
}
