import Logging
import WeftPostgres

/// Reloads this replica's `CAAuthorities` from the database: after a local
/// change (so the caller's answer already reflects it), and for the change
/// follower.
struct CAReloader: Sendable {
    let store: CAStore
    let authorities: CAAuthorities
    let logger: Logger

    func reload() async throws {
        try authorities.apply(try await store.load(), logger: logger)
    }
}

extension ChangeFollower {
    /// Keeps this replica's `CAAuthorities` at the database's state: reloads on
    /// a `NOTIFY weft_ca` from any replica's change, on (re)connecting, and at
    /// every check (which also renews the serving certificate at half-life).
    /// While PostgreSQL is away the replica keeps serving the last bundle and
    /// signing renewals with the authority it has; writes that need the
    /// database answer 503.
    static func ca(_ reloader: CAReloader, listener: PostgresListener?, checkInterval: Duration, logger: Logger)
        -> ChangeFollower
    {
        ChangeFollower(
            subject: "CA state", listener: listener, checkInterval: checkInterval, logger: logger,
            isCurrent: { version in version <= reloader.authorities.snapshot.bundleVersion },
            load: { try await reloader.reload() })
    }
}
