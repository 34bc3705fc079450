public import Logging
public import ServiceLifecycle
import WeftPostgres

/// Group commit for the writes every sidecar makes: heartbeats and
/// registrations (see `GroupCommitter`). One transaction renews every instance
/// in a heartbeat batch, one registers every instance in a registration batch;
/// each caller is acknowledged only once its batch is committed. Past
/// `maximumQueued` waiting items, one is refused with `.overloaded` (503); on
/// shutdown the queued ones are committed first.
///
/// Registrations have their own queue: a fleet restarting registers thousands
/// of instances at once, and their batches must not wait behind heartbeats (nor
/// heartbeats behind them, or TTLs would run out).
public final class InstanceBatcher: Service {
    let heartbeats: GroupCommitter<HeartbeatItem, UInt64?>
    let registrations: GroupCommitter<Registration, Result<UInt64, RegistryError>>

    public init(
        store: any RegistryStore, maximumBatch: Int = 2_000, maximumQueued: Int = 50_000,
        maximumRegistrationBatch: Int = 500, logger: Logger
    ) {
        heartbeats = GroupCommitter(
            name: "heartbeat", maximumBatch: maximumBatch, maximumQueued: maximumQueued, logger: logger,
            refusal: Self.refusal("heartbeats"), commit: { items in try await store.heartbeat(items) })
        registrations = GroupCommitter(
            name: "registration", maximumBatch: maximumRegistrationBatch, maximumQueued: maximumQueued,
            logger: logger, refusal: Self.refusal("registrations"),
            commit: { items in try await store.registerInstances(items) })
    }

    static func refusal<Item, Output>(_ what: String) -> @Sendable (GroupCommitter<Item, Output>.Refusal) -> any Error {
        { refusal in
            switch refusal {
            case .stopped: RegistryError(.unavailable, "the registry is shutting down")
            case .full(let queued): RegistryError(.overloaded, "\(queued) \(what) are already waiting")
            }
        }
    }

    /// Renews one instance's TTL; returns the version after the batch, or nil when
    /// the instance is not registered.
    public func beat(_ item: HeartbeatItem) async throws -> UInt64? {
        try await heartbeats.submit(item)
    }

    /// Registers or re-registers one instance; returns the version after its batch.
    public func register(_ registration: Registration) async throws -> UInt64 {
        try await registrations.submit(registration).get()
    }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.heartbeats.run() }
            group.addTask { try await self.registrations.run() }
            try await group.waitForAll()
        }
    }
}
