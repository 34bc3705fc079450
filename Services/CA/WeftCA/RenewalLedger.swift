public import Logging
public import ServiceLifecycle
import WeftPostgres

/// Group commit for the ledger rows of renewals (see `GroupCommitter`): a
/// certificate is handed out only once it is recorded (so it can be found and
/// revoked), yet thousands of renewals per second cost a few dozen
/// transactions. Past `maximumQueued` waiting rows a renewal is refused (503);
/// on shutdown the queued rows are committed first.
public final class RenewalLedger: Service {
    let committer: GroupCommitter<LedgerEntry, Void>

    public init(store: CAStore, maximumBatch: Int = 1_000, maximumQueued: Int = 20_000, logger: Logger) {
        committer = GroupCommitter(
            name: "ledger", maximumBatch: maximumBatch, maximumQueued: maximumQueued, logger: logger,
            refusal: { refusal in
                switch refusal {
                case .stopped: CAError(.unavailable, "the CA is shutting down")
                case .full(let queued):
                    CAError(.unavailable, "\(queued) certificates are already waiting to be recorded")
                }
            },
            commit: { entries in
                try await store.record(entries)
                return entries.map { _ in () }
            })
    }

    /// Records `entry`; returns once it is committed.
    public func record(_ entry: LedgerEntry) async throws {
        try await committer.submit(entry)
    }

    public func run() async throws {
        try await committer.run()
    }
}
