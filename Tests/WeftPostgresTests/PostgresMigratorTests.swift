import Testing
import WeftPostgres
import WeftTestSupport

/// Schema migrations against a real server: ordering, idempotence, two replicas
/// starting together, and refusal of a newer schema.
@Suite(.serialized) struct PostgresMigratorTests {
    static let first = PostgresMigration(version: 1, "notes", ["CREATE TABLE notes (id serial PRIMARY KEY, body text)"])
    static let second = PostgresMigration(
        version: 2, "tags", ["SELECT pg_sleep(0.3)", "CREATE TABLE tags (note integer REFERENCES notes, tag text)"])

    static func tables(_ pool: PostgresPool) async throws -> [PostgresRow] {
        try await pool.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('notes', 'tags') ORDER BY 1")
    }

    @Test func appliesPendingMigrationsOnceAndInOrder() async throws {
        try await TemporaryPostgres.with { server in
            let pool = PostgresPool(.init(url: server.url))
            let migrator = PostgresMigrator(component: "test", migrations: [Self.first, Self.second])
            let outcome = try await migrator.migrate(pool)
            #expect(outcome == .init(previousVersion: 0, currentVersion: 2, applied: [1, 2]))
            let again = try await migrator.migrate(pool)
            #expect(again == .init(previousVersion: 2, currentVersion: 2, applied: []))
            let tables = try await Self.tables(pool)
            #expect(tables == [["notes"], ["tags"]])
            // Another component sharing the database keeps its own versions.
            let other = PostgresMigrator(
                component: "other", migrations: [PostgresMigration(version: 1, "x", ["CREATE TABLE other_x (v int)"])])
            #expect(try await other.migrate(pool).applied == [1])
            await pool.shutdown()
        }
    }

    @Test func twoReplicasStartingTogetherMigrateOnce() async throws {
        try await TemporaryPostgres.with { server in
            // Two pools stand for two registry processes on one database.
            let pools = [PostgresPool(.init(url: server.url)), PostgresPool(.init(url: server.url))]
            let migrator = PostgresMigrator(component: "test", migrations: [Self.first, Self.second])
            async let one = migrator.migrate(pools[0])
            async let two = migrator.migrate(pools[1])
            let outcomes = try await [one, two]
            #expect(outcomes.flatMap(\.applied).sorted() == [1, 2])
            #expect(outcomes.allSatisfy { $0.currentVersion == 2 })
            for pool in pools { await pool.shutdown() }
        }
    }

    @Test func refusesASchemaNewerThanItKnows() async throws {
        try await TemporaryPostgres.with { server in
            let pool = PostgresPool(.init(url: server.url))
            _ = try await PostgresMigrator(component: "test", migrations: [Self.first, Self.second]).migrate(pool)
            let older = PostgresMigrator(component: "test", migrations: [Self.first])
            await #expect {
                try await older.migrate(pool)
            } throws: { error in
                guard let error = error as? PostgresError else { return false }
                return error.kind == .schemaTooNew && error.message.contains("version 2, newer than the 1")
            }
            await pool.shutdown()
        }
    }

    @Test func aFailingMigrationLeavesNothingHalfApplied() async throws {
        try await TemporaryPostgres.with { server in
            let pool = PostgresPool(.init(url: server.url))
            let broken = PostgresMigration(
                version: 2, "broken", ["CREATE TABLE tags (tag text)", "CREATE TABLE oops (v no_such_type)"])
            await #expect(throws: PostgresError.self) {
                try await PostgresMigrator(component: "test", migrations: [Self.first, broken]).migrate(pool)
            }
            // All or nothing: not even migration 1 (same transaction) stayed.
            let tables = try await Self.tables(pool)
            #expect(tables.isEmpty)
            let outcome = try await PostgresMigrator(component: "test", migrations: [Self.first, Self.second])
                .migrate(pool)
            #expect(outcome.applied == [1, 2])
            await pool.shutdown()
        }
    }
}
