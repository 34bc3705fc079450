import WeftPostgres

/// The CA's tables, as versioned migrations of the component `ca` (applied at
/// start under the migrator's advisory lock).
///
/// - `ca_state`: one row with the trust bundle's version. Every change of what
///   the bundle holds (a root published or retired, a certificate revoked) locks
///   it, bumps it, and notifies `weft_ca` at commit, so every replica reloads.
/// - `ca_roots`: each authority generation (its key stays on disk, never here),
///   its state (`published`: trusted, not signing; `active`: trusted and signing;
///   `retired`: neither) and when it changed.
/// - `ca_certificates`: the ledger, one row per issued certificate.
/// - `ca_join_tokens`: tokens by their SHA-256 (the secret is never stored).
enum CASchema {
    static let component = "ca"
    static let channel = "weft_ca"

    static let migrations = [
        PostgresMigration(
            version: 1, "roots, ledger and join tokens",
            [
                """
                CREATE TABLE ca_state (
                    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                    bundle_version bigint NOT NULL)
                """,
                "INSERT INTO ca_state (singleton, bundle_version) VALUES (true, 0)",
                """
                CREATE TABLE ca_roots (
                    generation integer PRIMARY KEY,
                    anchor text NOT NULL,
                    authority text NOT NULL,
                    state text NOT NULL CHECK (state IN ('published', 'active', 'retired')),
                    created_at timestamptz NOT NULL DEFAULT now(),
                    activated_at timestamptz,
                    retired_at timestamptz)
                """,
                "CREATE UNIQUE INDEX ca_roots_one_active ON ca_roots ((true)) WHERE state = 'active'",
                """
                CREATE TABLE ca_certificates (
                    serial text PRIMARY KEY,
                    identity text NOT NULL,
                    not_before timestamptz NOT NULL,
                    not_after timestamptz NOT NULL,
                    issuer_generation integer NOT NULL REFERENCES ca_roots (generation),
                    issued_at timestamptz NOT NULL DEFAULT now(),
                    via text NOT NULL CHECK (via IN ('join-token', 'renewal')),
                    join_token_id text,
                    renewed_serial text,
                    revoked_at timestamptz,
                    revocation_reason text)
                """,
                "CREATE INDEX ca_certificates_identity ON ca_certificates (identity, serial)",
                "CREATE INDEX ca_certificates_issuer ON ca_certificates (issuer_generation, not_after)",
                "CREATE INDEX ca_certificates_revoked ON ca_certificates (not_after) WHERE revoked_at IS NOT NULL",
                """
                CREATE TABLE ca_join_tokens (
                    id text PRIMARY KEY,
                    sha256 text NOT NULL UNIQUE,
                    identity text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    expires_at timestamptz NOT NULL,
                    max_uses integer NOT NULL CHECK (max_uses BETWEEN 1 AND 1000),
                    uses integer NOT NULL DEFAULT 0 CHECK (uses BETWEEN 0 AND max_uses),
                    revoked_at timestamptz)
                """,
            ])
    ]

    static var migrator: PostgresMigrator {
        PostgresMigrator(component: component, migrations: migrations)
    }
}
