import Foundation
import Synchronization
import Testing
import WeftPostgres
import WeftTestSupport

/// PostgresPool against a real throwaway PostgreSQL server.
@Suite(.serialized) struct PostgresPoolTests {
    /// A number shared with concurrent tasks.
    final class Counter: Sendable {
        let value = Mutex(0)
        func update(_ body: (inout Int) -> Void) { value.withLock { body(&$0) } }
        var current: Int { value.withLock { $0 } }
    }

    static func pool(_ server: TemporaryPostgres, _ adjust: (inout PostgresPool.Configuration) -> Void = { _ in })
        -> PostgresPool
    {
        var configuration = PostgresPool.Configuration(url: server.url)
        adjust(&configuration)
        return PostgresPool(configuration)
    }

    static func isError(_ error: any Error, _ kind: PostgresError.Kind, sqlState: String? = nil) -> Bool {
        guard let error = error as? PostgresError else { return false }
        return error.kind == kind && (sqlState == nil || error.sqlState == sqlState)
    }

    @Test func neverOpensMoreThanItsLimit() async throws {
        try await TemporaryPostgres.with { server in
            // A generous acquire timeout: this test is about the limit, and on a
            // loaded CI machine connecting alone can take seconds.
            let pool = Self.pool(server) {
                $0.maximumConnections = 3
                $0.acquireTimeout = .seconds(60)
            }
            let url = server.url
            let peak = Counter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<12 {
                    group.addTask { try await pool.query("SELECT pg_sleep(0.05)") }
                }
                group.addTask {
                    let observer = try PostgresConnection(url: url)
                    for _ in 0..<10 {
                        let count = try observer.query(
                            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'weft' AND pid <> pg_backend_pid()"
                        )[0].decode(0, as: Int.self)
                        peak.update { $0 = max($0, count) }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                }
                try await group.waitForAll()
            }
            #expect(peak.current <= 3)
            #expect(pool.openConnections <= 3)
            await pool.shutdown()
        }
    }

    @Test func boundsItsWaitingLineAndTimesWaitersOut() async throws {
        try await TemporaryPostgres.with { server in
            let pool = Self.pool(server) {
                $0.maximumConnections = 1
                $0.maximumWaiters = 1
                $0.acquireTimeout = .seconds(1)
            }
            // Observed, not assumed: on a loaded CI machine connecting alone can
            // take longer than a fixed pause, and the waiter then got the connection.
            // The busy query sleeps far longer than the waiter's timeout (a loaded
            // machine once let a 3 s sleep end before a 1 s wait did) and is
            // cancelled once the waiting line has been checked.
            async let busy = pool.query("SELECT pg_sleep(20)")
            let observer = try PostgresConnection(url: server.url)
            for _ in 0..<400 {
                let sleeping = try observer.query(
                    "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(20)' AND state = 'active'")
                if sleeping == [["1"]] { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            let waiting = Task { try await pool.query("SELECT 1") }
            for _ in 0..<400 where pool.waitingCallers == 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(pool.waitingCallers == 1)
            // The line is full: refused at once.
            await #expect { try await pool.query("SELECT 2") } throws: { Self.isError($0, .poolExhausted) }
            // The waiter gives up after the acquire timeout.
            await #expect { try await waiting.value } throws: { Self.isError($0, .poolExhausted) }
            _ = try observer.query(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(20)'")
            _ = try? await busy
            let afterWait = try await pool.query("SELECT 3")
            #expect(afterWait == [["3"]])
            await pool.shutdown()
        }
    }

    @Test func retriesSerializationFailuresSoConcurrentTransactionsStaySerial() async throws {
        try await TemporaryPostgres.with { server in
            let pool = Self.pool(server) { $0.maximumConnections = 5 }
            try await pool.query("CREATE TABLE ledger (position int)")
            let attempts = Counter()
            // Each transaction reads the count and appends it: only a serial order
            // gives 0, 1, 2, 3, 4. Overlapping reads conflict; the pool reruns them.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        try await pool.transaction { connection in
                            attempts.update { $0 += 1 }
                            let count = try connection.query("SELECT count(*) FROM ledger")[0].decode(0, as: Int.self)
                            try connection.query("SELECT pg_sleep(0.05)")
                            try connection.query("INSERT INTO ledger VALUES ($1)", [String(count)])
                        }
                    }
                }
                try await group.waitForAll()
            }
            let positions = try await pool.query("SELECT position FROM ledger ORDER BY position")
            #expect(positions == [["0"], ["1"], ["2"], ["3"], ["4"]])
            #expect(attempts.current > 5, "the overlapping transactions should have conflicted")
            await pool.shutdown()
        }
    }

    @Test func rollsBackWhenTheBodyThrowsAndNeverReusesAConnectionInsideATransaction() async throws {
        struct Refused: Error {}
        try await TemporaryPostgres.with { server in
            let pool = Self.pool(server) { $0.maximumConnections = 1 }
            try await pool.query("CREATE TABLE notes (body text)")
            await #expect(throws: Refused.self) {
                try await pool.transaction { connection in
                    try connection.query("INSERT INTO notes VALUES ('lost')")
                    throw Refused()
                }
            }
            let rolledBack = try await pool.query("SELECT count(*) FROM notes")
            #expect(rolledBack == [["0"]])
            // A caller that leaves a transaction open: its connection is dropped, so
            // the next caller is not inside it.
            try await pool.withConnection { connection in
                try connection.query("BEGIN")
                try connection.query("INSERT INTO notes VALUES ('uncommitted')")
            }
            let stillNone = try await pool.query("SELECT count(*) FROM notes")
            #expect(stillNone == [["0"]])
            let idleInTransaction = try await pool.query(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'")
            #expect(idleInTransaction == [["0"]])
            await pool.shutdown()
        }
    }

    @Test func cancelsStatementsPastTheTimeoutAndKeepsTheConnection() async throws {
        try await TemporaryPostgres.with { server in
            let pool = Self.pool(server) {
                $0.maximumConnections = 1
                $0.statementTimeoutMilliseconds = 100
            }
            await #expect { try await pool.query("SELECT pg_sleep(5)") } throws: {
                Self.isError($0, .statementFailed, sqlState: "57014")
            }
            let afterTimeout = try await pool.query("SELECT 'after'")
            #expect(afterTimeout == [["after"]])
            await pool.shutdown()
        }
    }

    @Test func failsFastWhileTheServerIsDownAndRecoversByItself() async throws {
        try await TemporaryPostgres.with { server in
            guard server.canRestart else { return }
            let pool = Self.pool(server) {
                $0.maximumConnections = 2
                $0.connectTimeoutSeconds = 2
                // A first backoff no loaded machine outlasts between the two
                // calls below (at 100 ms it could, and the second call then
                // tried to connect instead of failing fast).
                $0.reconnectBackoffInitial = .seconds(5)
                $0.reconnectBackoffMaximum = .seconds(5)
                $0.healthCheckAfterIdle = .zero
            }
            try await pool.query("CREATE TABLE kept (v int)")
            try await pool.query("INSERT INTO kept VALUES (1)")
            try await server.paused()
            await #expect { try await pool.query("SELECT 1") } throws: { ($0 as? PostgresError)?.isUnavailable == true }
            // Within the backoff the pool does not even try: it says so at once.
            await #expect { try await pool.query("SELECT 1") } throws: { error in
                (error as? PostgresError)?.message.contains("next attempt in") == true
            }
            try await server.resumed()
            var recovered: [PostgresRow] = []
            for _ in 0..<300 {
                if let rows = try? await pool.query("SELECT v FROM kept") {
                    recovered = rows
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(recovered == [["1"]])
            await pool.shutdown()
        }
    }

    @Test func decodesTypedValuesAndNamesTheColumnWhenItCannot() async throws {
        try await TemporaryPostgres.with { server in
            let connection = try PostgresConnection(url: server.url)
            let row = try connection.query("SELECT 42 AS answer, true AS yes, 'x' AS letter, NULL::int AS nothing")[0]
            #expect(try row.decode(0, as: Int.self) == 42)
            #expect(try row.decode("yes", as: Bool.self) == true)
            #expect(try row.decode("letter", as: String.self) == "x")
            #expect(try row.decodeIfPresent(3, as: Int.self) == nil)
            #expect(throws: PostgresError(.decodingFailed, message: "column nothing is NULL, expected Int")) {
                try row.decode("nothing", as: Int.self)
            }
            #expect(throws: PostgresError(.decodingFailed, message: "column letter: x is not a valid Int")) {
                try row.decode(2, as: Int.self)
            }
            #expect(throws: PostgresError(.decodingFailed, message: "no column named missing")) {
                try row.decode("missing", as: Int.self)
            }
        }
    }
}
