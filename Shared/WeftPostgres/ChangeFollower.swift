public import Logging
public import ServiceLifecycle

/// Keeps a replica's in-memory copy of what PostgreSQL holds current: the one
/// way the registry and the CA follow changes made by any replica.
///
/// Four things trigger a reload: a `NOTIFY` on the service's channel (unless
/// its payload, a version, is one the replica already has), the LISTEN
/// connection (re)connecting (notifications sent while it was away are not
/// queued for it), a local write (`requestReload`), and a periodic check every
/// `checkInterval` (a last line of defence, and for the CA the moment to renew
/// its serving certificate). Triggers are coalesced: however many arrive
/// during a load, one more load follows. A failed load is retried with capped
/// exponential backoff (100 ms doubling to 5 s) even without another trigger,
/// logged on the first failure and every twentieth; meanwhile the replica keeps
/// serving what it loaded last.
public final class ChangeFollower: Service {
    /// What is followed, for log lines ("registry state", "CA state").
    let subject: String
    let listener: PostgresListener?
    let checkInterval: Duration
    let logger: Logger
    /// Loads and applies the current state.
    let load: @Sendable () async throws -> Void
    /// Whether a notified version is already applied (then no reload).
    let isCurrent: @Sendable (UInt64) -> Bool
    /// At each periodic check: whether to reload (the registry asks the
    /// database's version first; the CA always reloads).
    let checkNeedsReload: @Sendable () async -> Bool
    /// Runs at graceful shutdown, before following stops.
    let onShutdown: @Sendable () -> Void
    private let triggers: AsyncStream<Void>
    private let trigger: AsyncStream<Void>.Continuation
    static let backoff = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(5))

    public init(
        subject: String, listener: PostgresListener?, checkInterval: Duration, logger: Logger,
        isCurrent: @escaping @Sendable (UInt64) -> Bool,
        checkNeedsReload: @escaping @Sendable () async -> Bool = { true },
        onShutdown: @escaping @Sendable () -> Void = {},
        load: @escaping @Sendable () async throws -> Void
    ) {
        self.subject = subject
        self.listener = listener
        self.checkInterval = checkInterval
        self.logger = logger
        self.isCurrent = isCurrent
        self.checkNeedsReload = checkNeedsReload
        self.onShutdown = onShutdown
        self.load = load
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
            try? await gracefulShutdown()
            self.onShutdown()
            group.cancelAll()
        }
    }

    func handle(_ event: PostgresListener.Event) {
        switch event {
        case .connected:
            logger.info("following changes to the \(subject)")
            trigger.yield()
        case .notification(let notification):
            if let version = UInt64(notification.payload), isCurrent(version) { return }
            trigger.yield()
        case .disconnected(let reason, let retryIn):
            logger.warning(
                "lost the change feed; serving the last loaded \(subject)",
                metadata: ["reason": "\(reason)", "retry_in_ms": "\(retryIn.wholeMilliseconds)"])
        }
    }

    private func reloadLoop() async {
        var failures = 0
        for await _ in triggers {
            do {
                try await load()
                failures = 0
            } catch {
                failures += 1
                if failures == 1 || failures % 20 == 0 {
                    logger.warning(
                        "cannot load the \(subject)", metadata: ["error": "\(error)", "failures": "\(failures)"])
                }
                // Try again later even without another trigger (the first load
                // must happen, and a failed load may have missed a change).
                let delay = Self.backoff.delay(afterFailures: failures)
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
            if Task.isCancelled { return }
            if await checkNeedsReload() { trigger.yield() }
        }
    }
}
