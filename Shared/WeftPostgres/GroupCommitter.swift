public import Logging
public import ServiceLifecycle
import Synchronization

/// Group commit: each caller's item joins the next batch, one `commit` call
/// (one transaction) handles the batch, then every caller is answered with its
/// own result. An item is acknowledged only once committed, yet thousands per
/// second cost a few dozen transactions. The registry's heartbeats and the
/// CA's ledger rows go through one each.
///
/// The next batch starts as soon as the previous one is committed, so a lone
/// item waits for no timer. The queue is bounded: past `maximumQueued` an item
/// is refused at once rather than growing memory. On graceful shutdown the
/// items already queued are committed before `run` returns; later ones are
/// refused.
public final class GroupCommitter<Item: Sendable, Output: Sendable>: Service {
    /// Why an item was refused without being queued.
    public enum Refusal: Sendable {
        case stopped
        case full(queued: Int)
    }

    struct Pending {
        var item: Item
        var continuation: CheckedContinuation<Result<Output, any Error>, Never>
    }

    struct Queue {
        var pending: [Pending] = []
        var stopped = false
    }

    let maximumBatch: Int
    let maximumQueued: Int
    let name: String
    let logger: Logger
    let refusal: @Sendable (Refusal) -> any Error
    /// Commits a batch; returns one output per item, in order.
    let commit: @Sendable ([Item]) async throws -> [Output]
    private let queue = Mutex(Queue())
    private let signals: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation

    public init(
        name: String, maximumBatch: Int, maximumQueued: Int, logger: Logger,
        refusal: @escaping @Sendable (Refusal) -> any Error,
        commit: @escaping @Sendable ([Item]) async throws -> [Output]
    ) {
        self.name = name
        self.maximumBatch = maximumBatch
        self.maximumQueued = maximumQueued
        self.logger = logger
        self.refusal = refusal
        self.commit = commit
        (signals, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues `item`; returns its output once its batch is committed.
    public func submit(_ item: Item) async throws -> Output {
        let result = await withCheckedContinuation { continuation in
            let refused: Refusal? = queue.withLock { queue in
                if queue.stopped { return .stopped }
                guard queue.pending.count < maximumQueued else { return .full(queued: queue.pending.count) }
                queue.pending.append(Pending(item: item, continuation: continuation))
                return nil
            }
            if let refused {
                continuation.resume(returning: .failure(refusal(refused)))
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
                let outputs = try await commit(batch.map(\.item))
                precondition(
                    outputs.count == batch.count, "\(name): commit returned \(outputs.count) of \(batch.count)")
                for (pending, output) in zip(batch, outputs) {
                    pending.continuation.resume(returning: .success(output))
                }
            } catch {
                logger.warning("\(name) batch failed", metadata: ["size": "\(batch.count)", "error": "\(error)"])
                for pending in batch { pending.continuation.resume(returning: .failure(error)) }
            }
        }
    }
}
