import Foundation
import Testing
import WeftPostgres
import WeftProtocol
import WeftTestSupport

@testable import WeftRegistry

/// The store against a real PostgreSQL: an incremental reload must equal a full one.
@Suite struct PostgresRegistryStoreTests {
    static func instance(_ id: String, port: Int = 9000) throws -> Instance {
        try Instance(
            id: InstanceID(validating: id), service: ServiceName(validating: "catalog"),
            address: HostAddress(validating: "10.0.0.1"), port: port, ttl: .seconds(5))
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

    @Test func incrementalReloadsSeeEveryChangeAFullLoadSees() async throws {
        try await TemporaryPostgres.with { postgres in
            let pool = PostgresPool(PostgresPool.Configuration(url: postgres.url))
            defer { Task { await pool.shutdown() } }
            _ = try await RegistrySchema.migrator.migrate(pool)
            let store = PostgresRegistryStore(pool: pool)
            let catalog = ServiceReference(service: try ServiceName(validating: "catalog"))
            _ = try await store.putService(Service(name: catalog.service), create: true, ifMatch: nil, actor: "t")

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
                cached = incremental
            }
            #expect(cached.instances[catalog]?.map(\.instance.id.rawValue) == ["c", "d"])
            #expect(cached.instances[catalog]?.last?.instance.port == 9200)

            // Tombstones older than an hour are pruned; a replica that old reloads whole.
            let stale = try await store.loadState(reusing: nil)
            _ = try await store.deregisterInstance(catalog, InstanceID(validating: "c"), actor: "t")
            try await pool.query("UPDATE instance_tombstones SET at = now() - interval '2 hours'")
            try await pool.query("UPDATE instances SET expires_at = now() - interval '1 minute' WHERE id = 'd'")
            _ = try await store.reap(grace: .seconds(3600), actor: "t")
            #expect(try await pool.query("SELECT count(*) FROM instance_tombstones") == [["0"]])
            let caughtUp = try await store.loadState(reusing: stale)
            #expect(caughtUp.instances[catalog]?.map(\.instance.id.rawValue) == ["d"])
        }
    }
}
