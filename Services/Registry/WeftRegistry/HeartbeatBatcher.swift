public import Logging
public import ServiceLifecycle
import WeftPostgres

/// Group commit for heartbeats (see `GroupCommitter`): one transaction renews
/// every instance in a batch, and a heartbeat is acknowledged only once it is
/// committed. Past `maximumQueued` waiting beats, one is refused with
/// `.overloaded` (503); on shutdown the queued ones are committed first.
public final class HeartbeatBatcher: Service {
    let committer: GroupCommitter<HeartbeatItem, UInt64?>

    public init(store: any RegistryStore, maximumBatch: Int = 2_000, maximumQueued: Int = 50_000, logger: Logger) {
        committer = GroupCommitter(
            name: "heartbeat", maximumBatch: maximumBatch, maximumQueued: maximumQueued, logger: logger,
            refusal: { refusal in
                switch refusal {
                case .stopped: RegistryError(.unavailable, "the registry is shutting down")
                case .full(let queued): RegistryError(.overloaded, "\(queued) heartbeats are already waiting")
                }
            },
            commit: { items in try await store.heartbeat(items) })
    }

    /// Renews one instance's TTL; returns the version after the batch, or nil when
    /// the instance is not registered.
    public func beat(_ item: HeartbeatItem) async throws -> UInt64? {
        try await committer.submit(item)
    }

    public func run() async throws {
        try await committer.run()
    }
}
