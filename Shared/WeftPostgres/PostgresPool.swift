import NIOCore
import NIOPosix
import Synchronization

/// A bounded pool of `PostgresConnection`s for async control-plane code.
///
/// libpq blocks, so every call runs on the pool's own `NIOThreadPool` (one thread
/// per connection), never on a NIO event loop or the cooperative executor.
///
/// - **Limits**: at most `maximumConnections` open; callers beyond that wait in a
///   line of at most `maximumWaiters` for up to `acquireTimeout`, then fail with
///   `poolExhausted` (a 503 upstream, not unbounded memory).
/// - **Health**: a connection idle longer than `healthCheckAfterIdle` is checked
///   with `SELECT 1` before use; a connection that failed (or whose server went
///   away) is dropped, never reused.
/// - **Reconnect with backoff**: connections are opened on demand. After a failed
///   connect, further attempts fail fast until the backoff (doubling from
///   `reconnectBackoffInitial` to `reconnectBackoffMaximum`) has passed, so a
///   down server is not hammered and callers learn at once that it is down.
/// - **Transactions** (`transaction`) run again, a bounded number of times, when
///   PostgreSQL reports a serialization failure or deadlock.
public final class PostgresPool: Sendable {
    public struct Configuration: Sendable {
        public var url: String
        public var maximumConnections = 10
        public var maximumWaiters = 1000
        public var acquireTimeout: Duration = .seconds(5)
        public var connectTimeoutSeconds = 5
        /// Statements running longer are cancelled by the server; nil for none.
        public var statementTimeoutMilliseconds: Int? = 30_000
        public var healthCheckAfterIdle: Duration = .seconds(30)
        public var reconnectBackoffInitial: Duration = .milliseconds(100)
        public var reconnectBackoffMaximum: Duration = .seconds(5)

        public init(url: String) { self.url = url }
    }

    /// A connection handed between threads: used by one caller at a time, which
    /// the pool's state guarantees.
    private final class Pooled: @unchecked Sendable {
        let connection: PostgresConnection
        var lastUsed: ContinuousClock.Instant
        init(_ connection: PostgresConnection) {
            self.connection = connection
            self.lastUsed = .now
        }
    }

    /// What a caller gets: an idle connection, or the right to open one.
    private enum Lease: Sendable {
        case connection(Pooled)
        case permit
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Lease, any Error>
    }

    private struct State {
        var idle: [Pooled] = []
        /// Open connections plus those being opened (leased permits).
        var open = 0
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var shutDown = false
        var failedConnects = 0
        var nextConnectAllowed: ContinuousClock.Instant?
    }

    public let configuration: Configuration
    private let threads: NIOThreadPool
    private let state = Mutex(State())

    public init(_ configuration: Configuration) {
        precondition(configuration.maximumConnections > 0, "a pool needs at least one connection")
        self.configuration = configuration
        self.threads = NIOThreadPool(numberOfThreads: configuration.maximumConnections)
        threads.start()
    }

    /// Connections open now (idle or in use).
    public var openConnections: Int { state.withLock { $0.open } }
    /// Callers waiting in line for a connection.
    public var waitingCallers: Int { state.withLock { $0.waiters.count } }

    /// Runs `body` with a connection on the pool's threads. A connection that
    /// failed inside `body` is dropped rather than returned.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T)
        async throws -> T
    {
        let pooled = try await acquire()
        do {
            let result = try await threads.runIfActive {
                try body(pooled.connection)
            }
            release(pooled)
            return result
        } catch {
            release(pooled)
            throw error
        }
    }

    /// Runs one statement.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) async throws -> [PostgresRow] {
        try await withConnection { connection in try connection.query(sql, parameters) }
    }

    public enum IsolationLevel: String, Sendable {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
        case serializable = "SERIALIZABLE"
    }

    /// Runs `body` inside a transaction, committed when `body` returns and rolled
    /// back when it throws. On a serialization failure or deadlock the whole
    /// transaction runs again, up to `maximumAttempts` times, after a short random
    /// pause. `body` must therefore have no effects outside the database.
    public func transaction<T: Sendable>(
        isolation: IsolationLevel = .serializable, maximumAttempts: Int = 5,
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await withConnection { connection in
                    try connection.query("BEGIN ISOLATION LEVEL \(isolation.rawValue)")
                    do {
                        let result = try body(connection)
                        try connection.query("COMMIT")
                        return result
                    } catch {
                        if connection.isConnected { _ = try? connection.query("ROLLBACK") }
                        throw error
                    }
                }
            } catch let error as PostgresError where error.isTransient && attempt < maximumAttempts {
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int.random(in: 2...20) * attempt))
            }
        }
    }

    /// Closes idle connections, fails waiters, and refuses new work. Connections in
    /// use are closed when their callers finish.
    public func shutdown() async {
        let (idle, waiters) = state.withLock { state in
            state.shutDown = true
            defer {
                state.idle.removeAll()
                state.waiters.removeAll()
            }
            state.open -= state.idle.count
            return (state.idle, state.waiters)
        }
        _ = idle  // released here: PQfinish runs in each connection's deinit
        for waiter in waiters {
            waiter.continuation.resume(throwing: PostgresError(.shutDown, message: "the pool is shut down"))
        }
        try? await threads.shutdownGracefully()
    }

    // MARK: Leasing

    private func acquire() async throws -> Pooled {
        while true {
            let lease = try await lease()
            switch lease {
            case .connection(let pooled):
                if ContinuousClock.now - pooled.lastUsed < configuration.healthCheckAfterIdle { return pooled }
                // Idle for a while: the server may have restarted since. Check it.
                let healthy = (try? await threads.runIfActive { try pooled.connection.query("SELECT 1") }) != nil
                if healthy { return pooled }
                drop()
            case .permit:
                return try await connect()
            }
        }
    }

    private func lease() async throws -> Lease {
        enum Decision {
            case now(Lease)
            case wait(UInt64)
            case fail(PostgresError)
        }
        let waiterID = state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return try await withCheckedThrowingContinuation { continuation in
            let decision = state.withLock { state -> Decision in
                if state.shutDown { return .fail(PostgresError(.shutDown, message: "the pool is shut down")) }
                if let pooled = state.idle.popLast() { return .now(.connection(pooled)) }
                if state.open < configuration.maximumConnections {
                    state.open += 1
                    return .now(.permit)
                }
                guard state.waiters.count < configuration.maximumWaiters else {
                    return .fail(
                        PostgresError(
                            .poolExhausted,
                            message: "all \(configuration.maximumConnections) connections are busy and "
                                + "\(configuration.maximumWaiters) callers are waiting"))
                }
                state.waiters.append(Waiter(id: waiterID, continuation: continuation))
                return .wait(waiterID)
            }
            switch decision {
            case .now(let lease): continuation.resume(returning: lease)
            case .fail(let error): continuation.resume(throwing: error)
            case .wait(let id):
                let timeout = configuration.acquireTimeout
                Task { [self] in
                    try? await Task.sleep(for: timeout)
                    expire(waiter: id)
                }
            }
        }
    }

    private func expire(waiter id: UInt64) {
        let expired = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        expired?.continuation.resume(
            throwing: PostgresError(
                .poolExhausted,
                message: "no connection became free within \(configuration.acquireTimeout)"))
    }

    /// Opens a connection for a permit, unless the backoff after a failure says
    /// not yet.
    private func connect() async throws -> Pooled {
        let wait = state.withLock { state -> Duration? in
            guard let allowed = state.nextConnectAllowed else { return nil }
            let now = ContinuousClock.now
            return allowed > now ? allowed - now : nil
        }
        if let wait {
            drop()
            throw PostgresError(
                .connectionFailed,
                message: "PostgreSQL was unreachable at the last attempt; next attempt in \(wait.wholeMilliseconds) ms"
            )
        }
        let configuration = self.configuration
        do {
            let connection = try await threads.runIfActive {
                Pooled(
                    try PostgresConnection(
                        url: configuration.url, connectTimeoutSeconds: configuration.connectTimeoutSeconds,
                        statementTimeoutMilliseconds: configuration.statementTimeoutMilliseconds))
            }
            state.withLock { state in
                state.failedConnects = 0
                state.nextConnectAllowed = nil
            }
            return connection
        } catch {
            state.withLock { state in
                state.failedConnects += 1
                let backoff = ReconnectBackoff(
                    initial: configuration.reconnectBackoffInitial, maximum: configuration.reconnectBackoffMaximum)
                state.nextConnectAllowed = .now + backoff.delay(afterFailures: state.failedConnects)
            }
            drop()
            throw error
        }
    }

    /// Gives a connection back: to the first waiter, else to the idle stack; a
    /// broken one is dropped instead.
    private func release(_ pooled: Pooled) {
        // A connection left inside a transaction (or broken) is never handed on.
        guard pooled.connection.isReusable else {
            drop()
            return
        }
        pooled.lastUsed = .now
        let waiter = state.withLock { state -> Waiter? in
            if state.shutDown {
                state.open -= 1
                return nil
            }
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.idle.append(pooled)
            return nil
        }
        waiter?.continuation.resume(returning: .connection(pooled))
    }

    /// Forgets one open connection (closed, failed, or never opened); a waiter may
    /// then open a new one.
    private func drop() {
        let waiter = state.withLock { state -> Waiter? in
            if state.shutDown || state.waiters.isEmpty {
                state.open -= 1
                return nil
            }
            return state.waiters.removeFirst()  // the slot passes to it as a permit
        }
        waiter?.continuation.resume(returning: .permit)
    }
}
