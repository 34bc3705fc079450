import Foundation
import Testing
import WeftPostgres
import WeftProtocol
import WeftTestSupport

@testable import WeftRegistry

/// The store against a real PostgreSQL: an incremental reload must equal a full one.
@Suite struct PostgresRegistryStoreTests {
    static func instance(_ id: String, port: Int = 9000, service: String = "catalog") throws -> Instance {
        try Instance(
            id: InstanceID(validating: id), service: ServiceName(validating: service),
            address: HostAddress(validating: "10.0.0.1"), port: port, ttl: .seconds(5))
    }

    static func policy() throws -> RegistryDocument {
        .policy(
            try WeftJSON.decode(
                TrafficPolicy.self, from: #"{"service":"catalog","load_balancer":{"type":"round_robin"}}"#))
    }

    /// A route table sending requests whose path matches a pattern to a version.
    static func routes(_ version: String, gateway: Bool = false) throws -> RegistryDocument {
        let table = try WeftJSON.decode(
            RouteTable.self,
            from:
                #"{"routes":[{"name":"r","match":{"path":{"regex":"/v[0-9]+/.*"}},"destinations":[{"service":"catalog","subset":{"version":"\#(version)"}}]}]}"#
        )
        let owner = ServiceReference(service: try ServiceName(validating: gateway ? "edge" : "catalog"))
        return gateway ? .gatewayRoutes(owner, table) : .serviceRoutes(owner, table)
    }

    /// Instances as a replica serves them, without the TTL deadline (heartbeats
    /// that change nothing visible move it without a new version).
    static func served(_ state: RegistryState) -> [ServiceReference: [InstanceRecord]] {
        state.instances.mapValues { records in
            records.map { record in
                var copy = record
                copy.expiresAt = Timestamp(secondsSinceEpoch: 0)
                return copy
            }
        }
    }

    /// A migrated store on a throwaway PostgreSQL, with the service `catalog`.
    static func withStore(
        _ body: (PostgresPool, PostgresRegistryStore, ServiceReference) async throws -> Void
    ) async throws {
        try await TemporaryPostgres.with { postgres in
            let pool = PostgresPool(PostgresPool.Configuration(url: postgres.url))
            defer { Task { await pool.shutdown() } }
            _ = try await RegistrySchema.migrator.migrate(pool)
            let store = PostgresRegistryStore(pool: pool)
            let catalog = ServiceReference(service: try ServiceName(validating: "catalog"))
            _ = try await store.putService(Service(name: catalog.service), create: true, ifMatch: nil, actor: "t")
            try await body(pool, store, catalog)
        }
    }

    @Test func incrementalReloadsSeeEveryChangeAFullLoadSees() async throws {
        try await Self.withStore { pool, store, catalog in

            var cached = try await store.loadState(reusing: nil)
            // Each step changes something; after each, an incremental reload from
            // the previous state must equal a load from nothing.
            let steps: [(String, () async throws -> Void)] = [
                ("register", { _ = try await store.registerInstance(Self.instance("b"), actor: "t") }),
                (
                    "register more",
                    {
                        for id in ["a", "c", "d"] {
                            _ = try await store.registerInstance(Self.instance(id), actor: "t")
                        }
                    }
                ),
                (
                    "re-register changed",
                    { _ = try await store.registerInstance(Self.instance("c", port: 9100), actor: "t") }
                ),
                (
                    "deregister",
                    { _ = try await store.deregisterInstance(catalog, InstanceID(validating: "a"), actor: "t") }
                ),
                (
                    "maintenance",
                    { _ = try await store.setMaintenance(catalog, InstanceID(validating: "b"), true, actor: "t") }
                ),
                (
                    "health",
                    {
                        _ = try await store.heartbeat([
                            HeartbeatItem(service: catalog, id: InstanceID(validating: "d"), health: .warning)
                        ])
                    }
                ),
                (
                    "deregister and register again",
                    {
                        _ = try await store.deregisterInstance(catalog, InstanceID(validating: "d"), actor: "t")
                        _ = try await store.registerInstance(Self.instance("d", port: 9200), actor: "t")
                    }
                ),
                (
                    "a batch: new, changed twice, the same again, and one refused",
                    {
                        let outcomes = try await store.registerInstances([
                            Registration(instance: try Self.instance("e"), actor: "t"),
                            Registration(instance: try Self.instance("c", port: 9300), actor: "t"),
                            Registration(instance: try Self.instance("c", port: 9400), actor: "t"),
                            Registration(instance: try Self.instance("d", port: 9200), actor: "t"),
                            Registration(instance: try Self.instance("x", service: "ghost"), actor: "t"),
                        ])
                        #expect(outcomes.filter { (try? $0.get()) == nil }.count == 1)
                    }
                ),
                ("a policy", { _ = try await store.putDocument(try Self.policy(), ifMatch: nil, actor: "t") }),
                (
                    "route tables",
                    {
                        _ = try await store.putDocument(try Self.routes("v1"), ifMatch: nil, actor: "t")
                        _ = try await store.putDocument(try Self.routes("v1", gateway: true), ifMatch: nil, actor: "t")
                    }
                ),
                (
                    "a route table changed",
                    { _ = try await store.putDocument(try Self.routes("v2"), ifMatch: nil, actor: "t") }
                ),
                (
                    "mesh defaults",
                    {
                        _ = try await store.putDocument(
                            .defaults(try WeftJSON.decode(MeshDefaults.self, from: #"{"default_action":"allow"}"#)),
                            ifMatch: nil, actor: "t")
                    }
                ),
                (
                    "a route table removed",
                    {
                        _ = try await store.deleteDocument(
                            DocumentKey(.serviceRoutes, catalog), ifMatch: nil, actor: "t")
                    }
                ),
                (
                    "expire and remove",
                    {
                        try await pool.query(
                            "UPDATE instances SET expires_at = now() - interval '1 minute' WHERE id = 'b'")
                        _ = try await store.reap(grace: .seconds(3600), actor: "t")
                        try await pool.query(
                            "UPDATE instances SET expired_at = now() - interval '2 hours' WHERE id = 'b'")
                        _ = try await store.reap(grace: .seconds(3600), actor: "t")
                    }
                ),
            ]
            for (name, step) in steps {
                try await step()
                let incremental = try await store.loadState(reusing: cached)
                let full = try await store.loadState(reusing: nil)
                #expect(incremental.version == full.version, "\(name)")
                #expect(incremental.version > cached.version, "\(name) changed nothing")
                #expect(Self.served(incremental) == Self.served(full), "\(name)")
                #expect(incremental.policies == full.policies, "\(name)")
                #expect(incremental.serviceRoutes == full.serviceRoutes, "\(name)")
                #expect(incremental.gatewayRoutes == full.gatewayRoutes, "\(name)")
                #expect(incremental.defaults == full.defaults, "\(name)")
                // And it says what changed, where a load from nothing says everything.
                #expect(!incremental.changes.everything && full.changes.everything, "\(name)")
                #expect(incremental.changes != .nothing, "\(name) recorded no change")
                cached = incremental
            }
            #expect(cached.instances[catalog]?.map(\.instance.id.rawValue) == ["c", "d", "e"])
            #expect(cached.instances[catalog]?.first?.instance.port == 9400)
            #expect(cached.serviceRoutes.isEmpty && cached.gatewayRoutes.count == 1 && cached.policies.count == 1)
            #expect(cached.defaults.value.defaultAction == .allow)

            // Tombstones older than an hour are pruned; a replica that old reloads whole.
            let stale = try await store.loadState(reusing: nil)
            _ = try await store.deregisterInstance(catalog, InstanceID(validating: "c"), actor: "t")
            try await pool.query("UPDATE instance_tombstones SET at = now() - interval '2 hours'")
            try await pool.query("UPDATE instances SET expires_at = now() - interval '1 minute' WHERE id = 'd'")
            _ = try await store.reap(grace: .seconds(3600), actor: "t")
            #expect(try await pool.query("SELECT count(*) FROM instance_tombstones") == [["0"]])
            let caughtUp = try await store.loadState(reusing: stale)
            #expect(caughtUp.instances[catalog]?.map(\.instance.id.rawValue) == ["d", "e"])

            // A cached state that is not an ancestor of the database's (it lacks
            // a document older than its version: a database restored or
            // replaced) is not trusted: the load reads everything.
            var foreign = caughtUp
            foreign.policies = [:]
            foreign.gatewayRoutes = [:]
            let reread = try await store.loadState(reusing: foreign)
            #expect(reread.policies.count == 1 && reread.gatewayRoutes.count == 1)
            #expect(reread.changes.everything)
        }
    }

    /// A batch of registrations is one transaction with one version: each
    /// registration sees the ones before it, one refused registration refuses
    /// only itself, every change is audited with its own actor, and a batch that
    /// changes nothing moves no version.
    @Test func aBatchOfRegistrationsCommitsAsOneVersion() async throws {
        try await Self.withStore { pool, store, catalog in
            let before = try await store.registerInstance(Self.instance("kept"), actor: "t")
            let auditBefore = try await store.auditLog(after: 0, limit: 100).count

            let outcomes = try await store.registerInstances([
                Registration(instance: try Self.instance("a"), actor: "alice"),
                Registration(instance: try Self.instance("ghost", service: "ghost"), actor: "mallory"),
                Registration(instance: try Self.instance("a", port: 9001), actor: "bob"),
                Registration(instance: try Self.instance("kept"), actor: "carol"),
                Registration(instance: try Self.instance("b"), actor: "dave"),
            ])
            let version = before + 1
            #expect(try outcomes[0].get() == version)
            #expect(try outcomes[2].get() == version && outcomes[3].get() == version && outcomes[4].get() == version)
            guard case .failure(let refusal) = outcomes[1] else {
                Issue.record("a registration for a service that does not exist was accepted")
                return
            }
            #expect(refusal.kind == .notFound && refusal.message.contains("default/ghost"), "\(refusal)")
            #expect(try await store.currentVersion() == version)

            let state = try await store.loadState(reusing: nil)
            #expect(state.instances[catalog]?.map(\.instance.id.rawValue) == ["a", "b", "kept"])
            #expect(state.instances[catalog]?.first?.instance.port == 9001)
            #expect(state.instances[catalog]?.map(\.modifyVersion) == [version, version, before])
            let audit = try await store.auditLog(after: 0, limit: 100).dropFirst(auditBefore)
            #expect(audit.map(\.actor) == ["alice", "bob", "dave"])
            #expect(audit.map(\.action) == ["register", "update", "register"])
            #expect(audit.allSatisfy { $0.version == version })

            // The same registrations again: TTLs renewed, nothing else.
            let again = try await store.registerInstances([
                Registration(instance: try Self.instance("a", port: 9001), actor: "t"),
                Registration(instance: try Self.instance("b"), actor: "t"),
            ])
            #expect(try again.map { try $0.get() } == [version, version])
            #expect(try await store.currentVersion() == version)
            #expect(try await store.auditLog(after: 0, limit: 100).count == auditBefore + 3)
        }
    }
}
