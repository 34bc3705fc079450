import Logging
public import ServiceLifecycle
import WeftPostgres

/// Keeps this replica's `CAAuthorities` at the database's state: reloads on a
/// `NOTIFY weft_ca` from any replica's change, when the LISTEN connection
/// (re)connects, after this replica's own changes, and every `checkInterval`
/// (which also renews the serving certificate at half-life). While PostgreSQL
/// is away the replica keeps serving the last bundle and signing renewals with
/// the authority it has; writes that need the database answer 503.
public final class CASynchronizer: Service {
    let store: CAStore
    let authorities: CAAuthorities
    let listener: PostgresListener?
    let checkInterval: Duration
    let logger: Logger
    private let triggers: AsyncStream<Void>
    private let trigger: AsyncStream<Void>.Continuation

    init(
        store: CAStore, authorities: CAAuthorities, listener: PostgresListener?, checkInterval: Duration = .seconds(5),
        logger: Logger
    ) {
        self.store = store
        self.authorities = authorities
        self.listener = listener
        self.checkInterval = checkInterval
        self.logger = logger
        (triggers, trigger) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Reloads now and returns when done (after a local change, so the caller's
    /// answer already reflects it).
    func reload() async throws {
        try authorities.apply(try await store.load(), logger: logger)
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.reloadLoop() }
            if let listener {
                group.addTask {
                    await listener.run { event in self.handle(event) }
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.checkInterval)
                    self.trigger.yield()
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    private func handle(_ event: PostgresListener.Event) {
        switch event {
        case .connected:
            logger.info("following CA changes")
            trigger.yield()
        case .notification(let notification):
            if let version = UInt64(notification.payload), version <= authorities.snapshot.bundleVersion { return }
            trigger.yield()
        case .disconnected(let reason, let retryIn):
            logger.warning(
                "lost the change feed; serving the last loaded bundle",
                metadata: ["reason": "\(reason)", "retry_in_ms": "\(retryIn.wholeMilliseconds)"])
        }
    }

    private func reloadLoop() async {
        var failures = 0
        for await _ in triggers {
            do {
                try await reload()
                failures = 0
            } catch {
                failures += 1
                if failures == 1 || failures % 20 == 0 {
                    logger.warning("cannot reload the CA's state", metadata: ["error": "\(error)"])
                }
            }
            if Task.isCancelled { return }
        }
    }
}
