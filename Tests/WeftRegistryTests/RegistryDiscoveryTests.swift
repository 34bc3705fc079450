import Foundation
import Testing
import WeftProtocol
import WeftRegistry

/// Blocking discovery queries and TTL expiry, against a real PostgreSQL.
@Suite struct RegistryDiscoveryTests {
    static let sidecar = #"{"kind":"sidecar","service":{"service":"web"},"upstreams":[{"service":"catalog"}]}"#

    static func snapshot(_ reply: RegistryHarness.Reply) throws -> DiscoverySnapshot {
        try WeftJSON.decode(DiscoverySnapshot.self, from: reply.body, unknownFields: .ignore)
    }

    static func setUp(_ registry: RegistryHarness, ttl: String = "30s") async throws {
        #expect(
            try await registry.call("POST", "/v1/services", body: #"{"name":"catalog","protocol":"http2"}"#).status
                == 201)
        let instance = #"{"id":"c-1","service":"catalog","address":"10.0.0.5","port":9000,"ttl":"\#(ttl)"}"#
        #expect(try await registry.call("PUT", "/v1/instances/default/catalog/c-1", body: instance).status == 200)
    }

    @Test func refusesBadQueries() async throws {
        try await RegistryHarness.with { registry in
            let badWait = try await registry.call("POST", "/v1/discovery?wait=forever", body: Self.sidecar)
            #expect(badWait.status == 400)
            #expect((badWait.json["detail"] as? String)?.hasPrefix("wait:") == true)
            let longWait = try await registry.call("POST", "/v1/discovery?wait=10m", body: Self.sidecar)
            #expect(longWait.status == 400)
            let badIndex = try await registry.call("POST", "/v1/discovery?index=-1", body: Self.sidecar)
            #expect(badIndex.status == 400)
            let typo = try await registry.call("POST", "/v1/discovery?wiat=1s", body: Self.sidecar)
            #expect(typo.status == 400)
            // Twice: only bodies that decode are remembered (DecodedBodies), so
            // a bad one is refused precisely every time.
            for _ in 0..<2 {
                let badKind = try await registry.call(
                    "POST", "/v1/discovery", body: #"{"kind":"mesh","service":{"service":"web"}}"#)
                #expect(badKind.status == 400)
                #expect((badKind.json["detail"] as? String)?.contains("mesh") == true, "\(badKind.text)")
            }
            let twice = try await registry.call(
                "POST", "/v1/discovery",
                body: #"{"kind":"sidecar","service":{"service":"web"},"upstreams":[{"service":"a"},{"service":"a"}]}"#)
            #expect(twice.status == 400)
            #expect(try await registry.call("GET", "/v1/discovery").status == 405)
        }
    }

    @Test func answersAtOnceThenBlocksUntilAChange() async throws {
        try await RegistryHarness.with { registry in
            try await Self.setUp(registry)
            let first = try await registry.call("POST", "/v1/discovery", body: Self.sidecar)
            #expect(first.status == 200)
            let snapshot = try Self.snapshot(first)
            #expect(first.header("X-Weft-Index") == String(snapshot.version))
            #expect(snapshot.upstreams.first?.endpoints.map(\.instance.rawValue) == ["c-1"])
            #expect(snapshot.upstreams.first?.protocolKind == .http2)
            #expect(snapshot.defaults.defaultAction == .deny)

            // Nothing changes: the query waits out its `wait` and returns the same version.
            let started = Date()
            let unchanged = try await registry.call(
                "POST", "/v1/discovery?index=\(snapshot.version)&wait=300ms", body: Self.sidecar)
            #expect(Date().timeIntervalSince(started) >= 0.25)
            #expect(try Self.snapshot(unchanged).version == snapshot.version)

            // A change wakes a waiting query with the new state, whole.
            let waiting = Task {
                try await registry.call("POST", "/v1/discovery?index=\(snapshot.version)&wait=60s", body: Self.sidecar)
            }
            // Blocked before the change, so the change is what answers it.
            #expect(try await eventually(seconds: 30) { try await Self.blockedWatchers(registry) == 1 })
            let intention = #"{"source":"*","destination":"web","action":"allow"}"#
            #expect(try await registry.call("POST", "/v1/intentions", body: intention).status == 201)
            let woken = try Self.snapshot(try await waiting.value)
            #expect(woken.version > snapshot.version)
            #expect(woken.inboundIntentions.map(\.destination.rawValue) == ["web"])

            // An index from the future (a restored database) answers at once.
            let future = try await registry.call("POST", "/v1/discovery?index=999999&wait=60s", body: Self.sidecar)
            #expect(try Self.snapshot(future).version == woken.version)
        }
    }

    /// How many discovery queries are blocked, from the registry's metrics.
    static func blockedWatchers(_ registry: RegistryHarness) async throws -> Int {
        let text = try await registry.call("GET", "/metrics").text
        let line = text.split(separator: "\n").first { $0.hasPrefix("weft_registry_watchers ") }
        return Int(Double(line?.split(separator: " ").last ?? "") ?? -1)
    }

    /// A change wakes the watchers whose snapshot it alters and no others: a
    /// write settles only once this replica serves it, so a watcher woken by it
    /// would be gone from the count (and would answer with its version).
    @Test func aChangeWakesOnlyTheWatchersItConcerns() async throws {
        try await RegistryHarness.with { registry in
            try await Self.setUp(registry)
            #expect(try await registry.call("POST", "/v1/services", body: #"{"name":"ledger"}"#).status == 201)
            let version = try Self.snapshot(try await registry.call("POST", "/v1/discovery", body: Self.sidecar))
                .version
            let waiting = Task {
                try await registry.call("POST", "/v1/discovery?index=\(version)&wait=60s", body: Self.sidecar)
            }
            var blocked = 0
            for _ in 0..<200 where blocked == 0 {
                blocked = try await Self.blockedWatchers(registry)
                if blocked == 0 { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(blocked == 1)

            // Changes elsewhere: an instance and a policy of another service, an
            // intention towards another service. None wakes the watcher.
            let ledger = #"{"id":"l-1","service":"ledger","address":"10.0.0.9","port":9000}"#
            #expect(try await registry.call("PUT", "/v1/instances/default/ledger/l-1", body: ledger).status == 200)
            let policy = #"{"service":"ledger","load_balancer":{"type":"round_robin"}}"#
            #expect(try await registry.call("PUT", "/v1/policies/default/ledger", body: policy).status == 200)
            let intention = #"{"source":"*","destination":"ledger","action":"allow"}"#
            #expect(try await registry.call("POST", "/v1/intentions", body: intention).status == 201)
            #expect(try await Self.blockedWatchers(registry) == 1, "a change elsewhere woke the watcher")

            // A change to its upstream wakes it, with that change's version.
            let second = #"{"id":"c-2","service":"catalog","address":"10.0.0.6","port":9000}"#
            let written = try await registry.call("PUT", "/v1/instances/default/catalog/c-2", body: second)
            let woken = try Self.snapshot(try await waiting.value)
            #expect(String(woken.version) == written.header("X-Weft-Index"))
            #expect(woken.upstreams.first?.endpoints.map(\.instance.rawValue) == ["c-1", "c-2"])

            // A route of its upstream that sends traffic to `ledger` wakes it, and
            // from then on `ledger` is its concern too.
            let routes = #"{"routes":[{"name":"r","destinations":[{"service":"ledger"}]}]}"#
            let rerouted = Task {
                try await registry.call("POST", "/v1/discovery?index=\(woken.version)&wait=60s", body: Self.sidecar)
            }
            #expect(try await registry.call("PUT", "/v1/routes/services/default/catalog", body: routes).status == 200)
            let withRoutes = try Self.snapshot(try await rerouted.value)
            #expect(withRoutes.upstreams.map(\.service.service.rawValue) == ["catalog", "ledger"])
            let more = Task {
                try await registry.call(
                    "POST", "/v1/discovery?index=\(withRoutes.version)&wait=60s", body: Self.sidecar)
            }
            let ledger2 = #"{"id":"l-2","service":"ledger","address":"10.0.0.10","port":9000}"#
            #expect(try await registry.call("PUT", "/v1/instances/default/ledger/l-2", body: ledger2).status == 200)
            let grown = try Self.snapshot(try await more.value)
            #expect(grown.upstreams.last?.endpoints.map(\.instance.rawValue) == ["l-1", "l-2"])

            // An intention towards its own service wakes it (its inbound side).
            let inbound = Task {
                try await registry.call("POST", "/v1/discovery?index=\(grown.version)&wait=60s", body: Self.sidecar)
            }
            let allow = #"{"source":"*","destination":"web","action":"allow"}"#
            #expect(try await registry.call("POST", "/v1/intentions", body: allow).status == 201)
            #expect(try Self.snapshot(try await inbound.value).inboundIntentions.map(\.destination.rawValue) == ["web"])
        }
    }

    @Test func givesAGatewayItsRoutesAndTheServicesTheyReach() async throws {
        try await RegistryHarness.with { registry in
            try await Self.setUp(registry)
            let routes =
                #"{"routes":[{"name":"all","destinations":[{"service":"catalog"}],"mirror":{"service":"shadow"}}]}"#
            #expect(try await registry.call("PUT", "/v1/routes/gateways/default/edge", body: routes).status == 200)
            let reply = try await registry.call(
                "POST", "/v1/discovery", body: #"{"kind":"gateway","service":{"service":"edge"}}"#)
            let snapshot = try Self.snapshot(reply)
            #expect(snapshot.gatewayRoutes.routes.map(\.name.rawValue) == ["all"])
            #expect(snapshot.upstreams.map(\.service.service.rawValue) == ["catalog", "shadow"])
            #expect(snapshot.upstreams[1].endpoints.isEmpty)
        }
    }

    @Test func scopesAServiceCredentialToItsOwnSnapshot() async throws {
        try await RegistryHarness.with { registry in
            try await Self.setUp(registry)
            #expect(try await registry.call("POST", "/v1/services", body: #"{"name":"web"}"#).status == 201)
            let secret = try #require(
                try await registry.call("POST", "/v1/services/default/web/credentials").json["secret"] as? String)
            #expect(try await registry.call("POST", "/v1/discovery", body: Self.sidecar, token: secret).status == 200)
            let other = #"{"kind":"sidecar","service":{"service":"catalog"}}"#
            #expect(try await registry.call("POST", "/v1/discovery", body: other, token: secret).status == 403)
        }
    }

    @Test func dropsAnInstanceWhoseTTLRunsOutAndALateHeartbeatBringsItBack() async throws {
        // A grace no loaded machine can outlast between the two calls below (2 s,
        // then 8 s, were both lost once with the whole suite running): removal is
        // the next test's business.
        let longGrace: (inout RegistryConfiguration) -> Void = { $0.deregisterAfter = .seconds(600) }
        try await RegistryHarness.with(configure: longGrace) { registry in
            // A TTL the set-up and first query cannot outlast on a loaded machine
            // (5 s was, once), and a blocking wait well past it, with the
            // client's own timeout past that.
            try await Self.setUp(registry, ttl: "15s")
            let first = try Self.snapshot(try await registry.call("POST", "/v1/discovery", body: Self.sidecar))
            #expect(first.upstreams[0].endpoints.count == 1)

            // No heartbeat: after the TTL the endpoint leaves the snapshot (a blocking
            // query sees it as a change) while the instance is still listed as critical.
            let expired = try Self.snapshot(
                try await registry.call(
                    "POST", "/v1/discovery?index=\(first.version)&wait=60s", body: Self.sidecar, timeout: 90))
            #expect(expired.upstreams[0].endpoints.isEmpty)
            let listed = try await registry.call("GET", "/v1/instances/default/catalog/c-1")
            #expect(listed.json["health"] as? String == "critical")
            #expect(listed.json["expired_at"] as? String != nil)

            // A late heartbeat brings it back.
            #expect(try await registry.call("PUT", "/v1/instances/default/catalog/c-1/heartbeat").status == 200)
            let back = try Self.snapshot(try await registry.call("POST", "/v1/discovery", body: Self.sidecar))
            #expect(back.upstreams[0].endpoints.count == 1)
            let audit = try await registry.call("GET", "/v1/audit?limit=100")
            let actions = (audit.json["items"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
            #expect(actions.contains("expire"))
            #expect(actions.contains("health"))
        }
    }

    @Test func removesAnExpiredInstanceAfterTheGrace() async throws {
        let quickRemoval: (inout RegistryConfiguration) -> Void = { $0.deregisterAfter = .seconds(1) }
        try await RegistryHarness.with(configure: quickRemoval) { registry in
            try await Self.setUp(registry, ttl: "5s")
            // Silent past TTL and grace: removed, and the audit log says so.
            #expect(
                try await eventually(seconds: 60) {
                    try await registry.call("GET", "/v1/instances/default/catalog/c-1").status == 404
                })
            let audit = try await registry.call("GET", "/v1/audit?limit=100")
            let actions = (audit.json["items"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
            #expect(actions.contains("expire"))
            #expect(actions.contains("remove"))
        }
    }
}
