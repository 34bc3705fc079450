public import Logging
public import ServiceLifecycle
import Synchronization

/// Group commit for the ledger rows of renewals. Each signing waits while its
/// row joins the next batch; one transaction records the batch, then every
/// waiting request is answered. A certificate is handed out only once it is
/// recorded (so it can be found and revoked), yet thousands of renewals per
/// second cost a few dozen transactions.
///
/// The next batch starts as soon as the previous one commits, so a lone renewal
/// waits for no timer. Past `maximumQueued` a renewal is refused at once (503)
/// rather than growing memory.
public final class RenewalLedger: Service {
    struct Pending {
        var entry: LedgerEntry
        var continuation: CheckedContinuation<Result<Void, any Error>, Never>
    }

    struct Queue {
        var pending: [Pending] = []
        var stopped = false
    }

    let store: CAStore
    let maximumBatch: Int
    let maximumQueued: Int
    let logger: Logger
    private let queue = Mutex(Queue())
    private let signals: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation

    public init(store: CAStore, maximumBatch: Int = 1_000, maximumQueued: Int = 20_000, logger: Logger) {
        self.store = store
        self.maximumBatch = maximumBatch
        self.maximumQueued = maximumQueued
        self.logger = logger
        (signals, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Records `entry`; returns once it is committed.
    public func record(_ entry: LedgerEntry) async throws {
        let result = await withCheckedContinuation { continuation in
            let refusal: CAError? = queue.withLock { queue in
                if queue.stopped { return CAError(.unavailable, "the CA is shutting down") }
                guard queue.pending.count < maximumQueued else {
                    return CAError(.unavailable, "\(maximumQueued) certificates are already waiting to be recorded")
                }
                queue.pending.append(Pending(entry: entry, continuation: continuation))
                return nil
            }
            if let refusal {
                continuation.resume(returning: .failure(refusal))
            } else {
                signal.yield()
            }
        }
        try result.get()
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in self.signals {
                    await self.drain()
                }
            }
            try? await gracefulShutdown()
            // Rows already queued are committed before the ledger stops.
            queue.withLock { $0.stopped = true }
            signal.finish()
            await group.waitForAll()
        }
    }

    private func drain() async {
        while true {
            let batch: [Pending] = queue.withLock { queue in
                let count = min(queue.pending.count, maximumBatch)
                defer { queue.pending.removeFirst(count) }
                return Array(queue.pending.prefix(count))
            }
            if batch.isEmpty { return }
            do {
                try await store.record(batch.map(\.entry))
                for pending in batch { pending.continuation.resume(returning: .success(())) }
            } catch {
                logger.warning("ledger batch failed", metadata: ["size": "\(batch.count)", "error": "\(error)"])
                for pending in batch { pending.continuation.resume(returning: .failure(error)) }
            }
        }
    }
}
