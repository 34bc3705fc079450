public import Logging

/// One step of a component's schema, applied once.
public struct PostgresMigration: Sendable {
    public var version: Int
    public var description: String
    /// Statements run in order inside the migration's transaction.
    public var statements: [String]

    public init(version: Int, _ description: String, _ statements: [String]) {
        self.version = version
        self.description = description
        self.statements = statements
    }
}

/// Applies a component's versioned migrations at start.
///
/// Everything happens in one transaction holding a transaction-scoped advisory
/// lock derived from the component's name, so when two replicas start at the same
/// moment one migrates and the other waits, then finds nothing to do. Applied
/// versions are recorded in `weft_schema_migrations` (one table for every Weft
/// component sharing the database, keyed by component). A database whose schema
/// is newer than this binary knows is refused: running old code against it could
/// corrupt data written by the newer version.
public struct PostgresMigrator: Sendable {
    public let component: String
    public let migrations: [PostgresMigration]

    public init(component: String, migrations: [PostgresMigration]) {
        precondition(!migrations.isEmpty, "a component has at least one migration")
        precondition(
            migrations.map(\.version) == Array(1...migrations.count),
            "migration versions are 1, 2, 3, … without gaps")
        self.component = component
        self.migrations = migrations
    }

    /// The newest version this binary knows.
    public var latestVersion: Int { migrations.count }

    /// The outcome of `migrate`.
    public struct Outcome: Sendable, Equatable {
        public var previousVersion: Int
        public var currentVersion: Int
        public var applied: [Int]

        public init(previousVersion: Int, currentVersion: Int, applied: [Int]) {
            self.previousVersion = previousVersion
            self.currentVersion = currentVersion
            self.applied = applied
        }
    }

    /// Brings the schema to `latestVersion`; throws `PostgresError` with kind
    /// `schemaTooNew` when the database is ahead of this binary.
    public func migrate(_ pool: PostgresPool) async throws -> Outcome {
        let component = self.component
        let migrations = self.migrations
        return try await pool.transaction(isolation: .readCommitted) { connection in
            // Held until commit or rollback; two starting replicas serialize here.
            try connection.query("SELECT pg_advisory_xact_lock(hashtext($1))", ["weft-migrations:" + component])
            try connection.query(
                """
                CREATE TABLE IF NOT EXISTS weft_schema_migrations (
                    component text NOT NULL,
                    version integer NOT NULL,
                    description text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (component, version)
                )
                """)
            let current =
                try connection.query(
                    "SELECT coalesce(max(version), 0) FROM weft_schema_migrations WHERE component = $1", [component]
                )[0].decode(0, as: Int.self)
            guard current <= migrations.count else {
                throw PostgresError(
                    .schemaTooNew,
                    message: "the database's \(component) schema is at version \(current), newer than the "
                        + "\(migrations.count) this binary knows; run a newer release")
            }
            var applied: [Int] = []
            for migration in migrations where migration.version > current {
                for statement in migration.statements { try connection.query(statement) }
                try connection.query(
                    "INSERT INTO weft_schema_migrations (component, version, description) VALUES ($1, $2, $3)",
                    [component, String(migration.version), migration.description])
                applied.append(migration.version)
            }
            return Outcome(previousVersion: current, currentVersion: max(current, migrations.count), applied: applied)
        }
    }
}

extension PostgresMigrator {
    /// `migrate`, retrying with backoff while PostgreSQL cannot be reached yet:
    /// a service started together with its database waits for it rather than
    /// exiting. Other failures (a newer schema, a failed statement) are thrown.
    @discardableResult
    public func migrateWhenReachable(_ pool: PostgresPool, logger: Logger) async throws -> Outcome {
        var failures = 0
        let backoff = ReconnectBackoff(initial: .milliseconds(200), maximum: .seconds(5))
        while true {
            do {
                let outcome = try await migrate(pool)
                logger.info(
                    "schema ready",
                    metadata: [
                        "component": "\(component)", "version": "\(outcome.currentVersion)",
                        "applied": "\(outcome.applied.map(String.init))",
                    ])
                return outcome
            } catch let error as PostgresError where error.isUnavailable {
                failures += 1
                let delay = backoff.delay(afterFailures: failures)
                logger.warning(
                    "PostgreSQL is not reachable; retrying",
                    metadata: ["error": "\(error)", "retry_in_ms": "\(delay.wholeMilliseconds)"])
                try await Task.sleep(for: delay)
            }
        }
    }
}
