public import Logging
public import ServiceLifecycle
import Synchronization

/// Group commit for heartbeats. Each request waits while its beat joins the next
/// batch; one transaction renews every instance in the batch, then all the
/// requests are answered. A heartbeat is acknowledged only once it is committed,
/// yet ten thousand per second cost a few dozen transactions, not ten thousand.
///
/// The next batch starts as soon as the previous one commits, so a lone heartbeat
/// waits for no timer. The queue is bounded: past `maximumQueued` a beat is
/// refused at once with `.overloaded` (503) rather than growing memory.
public final class HeartbeatBatcher: Service {
    struct Pending {
        var item: HeartbeatItem
        var continuation: CheckedContinuation<Result<UInt64?, any Error>, Never>
    }

    struct Queue {
        var pending: [Pending] = []
        var stopped = false
    }

    let store: any RegistryStore
    let maximumBatch: Int
    let maximumQueued: Int
    let logger: Logger
    private let queue = Mutex(Queue())
    private let signals: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation

    public init(store: any RegistryStore, maximumBatch: Int = 2_000, maximumQueued: Int = 50_000, logger: Logger) {
        self.store = store
        self.maximumBatch = maximumBatch
        self.maximumQueued = maximumQueued
        self.logger = logger
        (signals, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Renews one instance's TTL; returns the version after the batch, or nil when
    /// the instance is not registered.
    public func beat(_ item: HeartbeatItem) async throws -> UInt64? {
        let result = await withCheckedContinuation { continuation in
            let refusal: RegistryError? = queue.withLock { queue in
                if queue.stopped { return RegistryError(.unavailable, "the registry is shutting down") }
                guard queue.pending.count < maximumQueued else {
                    return RegistryError(.overloaded, "\(maximumQueued) heartbeats are already waiting")
                }
                queue.pending.append(Pending(item: item, continuation: continuation))
                return nil
            }
            if let refusal {
                continuation.resume(returning: .failure(refusal))
            } else {
                signal.yield()
            }
        }
        return try result.get()
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in self.signals {
                    await self.drain()
                }
            }
            try? await gracefulShutdown()
            // Beats already queued are committed before the batcher stops.
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
                let results = try await store.heartbeat(batch.map(\.item))
                for (pending, result) in zip(batch, results) {
                    pending.continuation.resume(returning: .success(result))
                }
            } catch {
                logger.warning("heartbeat batch failed", metadata: ["size": "\(batch.count)", "error": "\(error)"])
                for pending in batch { pending.continuation.resume(returning: .failure(error)) }
            }
        }
    }
}
