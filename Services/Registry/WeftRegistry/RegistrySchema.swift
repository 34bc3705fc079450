import WeftPostgres

/// The registry's tables, as versioned migrations (applied at start under the
/// migrator's advisory lock; see `PostgresMigrator`).
///
/// One row, `registry_version`, holds the monotonic configuration version. Every
/// write that changes what discovery hands out locks that row first, bumps it, and
/// commits its change together with the new value; because the lock is held to the
/// commit, versions become visible in order, so a reader that sees version V also
/// sees every change up to V (a watcher never sees half of a change, and never
/// skips one).
///
/// Documents (traffic policies, route tables, mesh defaults) and instances keep
/// their JSON as text, exactly as WeftProtocol encoded it after validation; they
/// are decoded with the same strict rules when loaded.
enum RegistrySchema {
    static let component = "registry"

    /// The LISTEN/NOTIFY channel; the payload is the new version.
    static let channel = "weft_registry"

    static let migrations = [
        PostgresMigration(
            version: 1, "catalog, configuration, credentials and audit log",
            [
                """
                CREATE TABLE registry_version (
                    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                    version bigint NOT NULL)
                """,
                "INSERT INTO registry_version (singleton, version) VALUES (true, 0)",
                """
                CREATE TABLE services (
                    namespace text NOT NULL,
                    name text NOT NULL,
                    protocol text NOT NULL,
                    modify_version bigint NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (namespace, name))
                """,
                // `health` is what the instance reports; `maintenance` is set by an
                // operator; `expired_at` by the reaper when the TTL ran out. The
                // effective health combines the three.
                """
                CREATE TABLE instances (
                    namespace text NOT NULL,
                    service text NOT NULL,
                    id text NOT NULL,
                    body text NOT NULL,
                    health text NOT NULL,
                    maintenance boolean NOT NULL DEFAULT false,
                    ttl_ms bigint NOT NULL,
                    expires_at timestamptz NOT NULL,
                    expired_at timestamptz,
                    registered_at timestamptz NOT NULL DEFAULT now(),
                    modify_version bigint NOT NULL,
                    PRIMARY KEY (namespace, service, id),
                    FOREIGN KEY (namespace, service) REFERENCES services (namespace, name))
                """,
                "CREATE INDEX instances_live_expiry ON instances (expires_at) WHERE expired_at IS NULL",
                "CREATE INDEX instances_expired ON instances (expired_at) WHERE expired_at IS NOT NULL",
                """
                CREATE TABLE documents (
                    kind text NOT NULL,
                    namespace text NOT NULL,
                    name text NOT NULL,
                    body text NOT NULL,
                    modify_version bigint NOT NULL,
                    PRIMARY KEY (kind, namespace, name))
                """,
                // `match_key` is the intention's source, methods and path in a
                // canonical form: two intentions that would match the same requests
                // from the same source cannot both exist.
                """
                CREATE TABLE intentions (
                    id bigserial PRIMARY KEY,
                    namespace text NOT NULL,
                    destination text NOT NULL,
                    match_key text NOT NULL,
                    body text NOT NULL,
                    modify_version bigint NOT NULL,
                    UNIQUE (namespace, destination, match_key))
                """,
                """
                CREATE TABLE service_credentials (
                    id bigserial PRIMARY KEY,
                    namespace text NOT NULL,
                    service text NOT NULL,
                    secret_sha256 text NOT NULL UNIQUE,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    FOREIGN KEY (namespace, service) REFERENCES services (namespace, name) ON DELETE CASCADE)
                """,
                """
                CREATE TABLE audit_log (
                    id bigserial PRIMARY KEY,
                    version bigint NOT NULL,
                    at timestamptz NOT NULL DEFAULT now(),
                    actor text NOT NULL,
                    action text NOT NULL,
                    target text NOT NULL,
                    old text,
                    new text)
                """,
            ]),
        // Reloads fetch only instances changed since the cached version; deletions
        // leave a tombstone so they can be seen too. Tombstones older than an hour
        // are pruned, and `tombstones_from` records from which version on every
        // deletion still has one: a replica further behind reloads everything.
        PostgresMigration(
            version: 2, "instance tombstones for incremental reloads",
            [
                """
                CREATE TABLE instance_tombstones (
                    version bigint NOT NULL,
                    namespace text NOT NULL,
                    service text NOT NULL,
                    id text NOT NULL,
                    at timestamptz NOT NULL DEFAULT now())
                """,
                "CREATE INDEX instance_tombstones_version ON instance_tombstones (version)",
                "ALTER TABLE registry_version ADD COLUMN tombstones_from bigint NOT NULL DEFAULT 0",
                // Deletions before this migration have no tombstone.
                "UPDATE registry_version SET tombstones_from = version + 1",
            ]),
    ]

    static let migrator = PostgresMigrator(component: component, migrations: migrations)
}
