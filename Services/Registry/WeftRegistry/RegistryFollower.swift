public import Logging
public import WeftPostgres

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension ChangeFollower {
    /// Keeps this replica's `RegistryCache` at the database's version: each load
    /// reads what changed since the cached state (`loadState(reusing:)`) and
    /// publishes it. The periodic check asks for the database's version first,
    /// so an idle registry reloads nothing. At shutdown the cache closes: every
    /// blocked query answers at once.
    public static func registry(
        store: any RegistryStore, cache: RegistryCache, listener: PostgresListener?,
        checkInterval: Duration = .seconds(5), logger: Logger
    ) -> ChangeFollower {
        ChangeFollower(
            subject: "registry state", listener: listener, checkInterval: checkInterval, logger: logger,
            isCurrent: { version in cache.version.map { version <= $0 } ?? false },
            checkNeedsReload: {
                guard let version = try? await store.currentVersion() else { return false }
                return cache.version.map { $0 < version } ?? true
            },
            onShutdown: { cache.close() },
            load: {
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
            })
    }
}
