import Logging
import Synchronization
import Testing

@testable import WeftPostgres

/// The change follower the registry and the CA share, without a database: its
/// loads are closures here.
struct ChangeFollowerTests {
    final class Loads: Sendable {
        let attempts = Atomic<Int>(0)
        let failFirst: Int
        init(failFirst: Int) { self.failFirst = failFirst }

        func load() throws {
            let attempt = attempts.add(1, ordering: .relaxed).newValue
            if attempt <= failFirst { throw Failure() }
        }

        struct Failure: Error {}

        /// Waits (up to 30 s) until `count` attempts were made.
        func reach(_ count: Int) async -> Bool {
            for _ in 0..<3000 where attempts.load(ordering: .relaxed) < count {
                try? await Task.sleep(for: .milliseconds(10))
            }
            return attempts.load(ordering: .relaxed) >= count
        }
    }

    /// A failed load is tried again by itself, with backoff, until one succeeds;
    /// then nothing more happens without a trigger. (Before the registry and
    /// the CA shared this follower, the CA's waited for its next 5 s check.)
    @Test func retriesAFailedLoadByItselfAndThenRests() async throws {
        let loads = Loads(failFirst: 3)
        let follower = ChangeFollower(
            subject: "test state", listener: nil, checkInterval: .seconds(3600), logger: Logger(label: "test"),
            isCurrent: { _ in false }, load: { try loads.load() })
        let running = Task { try await follower.run() }
        defer { running.cancel() }
        #expect(await loads.reach(4))
        // Settled: a trigger now costs exactly one more load.
        follower.requestReload()
        #expect(await loads.reach(5))
        let attempts = loads.attempts.load(ordering: .relaxed)
        #expect(attempts == 5)
    }

    /// The periodic check reloads when it says the state moved on, and a
    /// notification of a newer version reloads.
    @Test func checksAndNotificationsTriggerOnlyWhenSomethingIsNew() async throws {
        let loads = Loads(failFirst: 0)
        let newer = Atomic<Bool>(false)
        let follower = ChangeFollower(
            subject: "test state", listener: nil, checkInterval: .milliseconds(20), logger: Logger(label: "test"),
            isCurrent: { $0 <= 10 }, checkNeedsReload: { newer.exchange(false, ordering: .relaxed) },
            load: { try loads.load() })
        let running = Task { try await follower.run() }
        defer { running.cancel() }
        #expect(await loads.reach(1))
        newer.store(true, ordering: .relaxed)
        #expect(await loads.reach(2))
        follower.handle(.notification(PostgresNotification(channel: "c", payload: "11", processID: 1)))
        #expect(await loads.reach(3))
    }
}
