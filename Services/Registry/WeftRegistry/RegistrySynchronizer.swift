public import Logging
public import ServiceLifecycle
public import WeftPostgres

/// Keeps this replica's `RegistryCache` at the database's version.
///
/// Three things trigger a reload: a `NOTIFY weft_registry` from any replica's
/// write, the LISTEN connection (re)connecting (notifications sent while it was
/// away are not queued for it, so it re-reads), and a slow periodic check of the
/// version as a last line of defence. Triggers are coalesced: however many
/// arrive during a load, one more load follows. While PostgreSQL is away the
/// cache keeps the last state it loaded, and readers and watchers keep using it.
public final class RegistrySynchronizer: Service {
    let store: any RegistryStore
    let cache: RegistryCache
    let listener: PostgresListener?
    let checkInterval: Duration
    let logger: Logger
    private let triggers: AsyncStream<Void>
    private let trigger: AsyncStream<Void>.Continuation

    public init(
        store: any RegistryStore, cache: RegistryCache, listener: PostgresListener?,
        checkInterval: Duration = .seconds(5), logger: Logger
    ) {
        self.store = store
        self.cache = cache
        self.listener = listener
        self.checkInterval = checkInterval
        self.logger = logger
        (triggers, trigger) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks for a reload soon (a local write calls this so it need not wait for
    /// its own NOTIFY to come back).
    public func requestReload() {
        trigger.yield()
    }

    public func run() async throws {
        trigger.yield()  // the first load
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.reloadLoop() }
            if let listener {
                group.addTask {
                    await listener.run { event in self.handle(event) }
                }
            }
            group.addTask { await self.checkLoop() }
            // Graceful shutdown: answer every blocked query now and stop following.
            try? await gracefulShutdown()
            self.cache.close()
            group.cancelAll()
        }
    }

    private func handle(_ event: PostgresListener.Event) {
        switch event {
        case .connected:
            logger.info("following registry changes")
            trigger.yield()
        case .notification(let notification):
            if let version = UInt64(notification.payload), let current = cache.version, version <= current { return }
            trigger.yield()
        case .disconnected(let reason, let retryIn):
            logger.warning(
                "lost the change feed; serving the last loaded state",
                metadata: ["reason": "\(reason)", "retry_in_ms": "\(retryIn.wholeMilliseconds)"])
        }
    }

    private func reloadLoop() async {
        var failures = 0
        for await _ in triggers {
            do {
                let started = ContinuousClock.now
                let state = try await store.loadState(reusing: cache.state)
                let loaded = ContinuousClock.now
                if cache.publish(state) {
                    logger.debug(
                        "loaded registry state",
                        metadata: [
                            "version": "\(state.version)",
                            "load_ms": "\((loaded - started).wholeMilliseconds)",
                            "publish_ms": "\((ContinuousClock.now - loaded).wholeMilliseconds)",
                        ])
                }
                failures = 0
            } catch {
                failures += 1
                if failures == 1 || failures % 20 == 0 {
                    logger.warning("cannot load registry state", metadata: ["error": "\(error)"])
                }
                // Try again later even without another trigger (the first load
                // must happen, and a failed load may have missed a change).
                let delay = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(5))
                    .delay(afterFailures: failures)
                Task { [trigger] in
                    try? await Task.sleep(for: delay)
                    trigger.yield()
                }
            }
            if Task.isCancelled { return }
        }
    }

    private func checkLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: checkInterval)
            guard let version = try? await store.currentVersion() else { continue }
            if let current = cache.version, current >= version { continue }
            trigger.yield()
        }
    }
}
