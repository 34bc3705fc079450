public import Logging
public import ServiceLifecycle

/// Turns instances whose TTL ran out `critical` (out of every endpoint set at the
/// next version) and removes them after a grace period, during which a late
/// heartbeat brings them back. Every replica runs one; they serialize on the
/// version lock, and TTLs are measured on the database's clock, so replicas with
/// skewed clocks agree.
public struct InstanceReaper: Service {
    let store: any RegistryStore
    let interval: Duration
    let grace: Duration
    let onChange: @Sendable () -> Void
    let logger: Logger

    public init(
        store: any RegistryStore, interval: Duration = .seconds(1), grace: Duration, logger: Logger,
        onChange: @escaping @Sendable () -> Void
    ) {
        self.store = store
        self.interval = interval
        self.grace = grace
        self.logger = logger
        self.onChange = onChange
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { return }
                do {
                    let (expired, removed) = try await store.reap(grace: grace, actor: "reaper")
                    if expired > 0 || removed > 0 {
                        logger.info(
                            "reaped instances", metadata: ["expired": "\(expired)", "removed": "\(removed)"])
                        onChange()
                    }
                } catch {
                    logger.debug("reaper tick failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
