import Foundation
import Testing
import WeftPostgres
import WeftTestSupport

/// The `weft-registry` executable as an operator runs it: flags, environment,
/// several replicas on one database, PostgreSQL going away, SIGTERM.
@Suite struct RegistryProcessTests {
    static let binary = ChildProcess.builtProduct("weft-registry")

    /// A running replica and the port it reported.
    struct Replica {
        let process: ChildProcess
        let port: Int

        func call(
            _ method: String, _ path: String, body: String? = nil, timeout: Double = 30
        ) async throws -> RegistryHarness.Reply {
            try await RegistryHarness.call(
                port: port, method, path, body: body.map { Data($0.utf8) }, timeout: timeout)
        }
    }

    static func tokenFile() throws -> String {
        let path = NSTemporaryDirectory() + "/weft-token-\(UUID().uuidString)"
        try (RegistryHarness.adminToken + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func start(_ postgres: TemporaryPostgres, tokenFile: String, extra: [String] = []) async throws -> Replica {
        let process = try ChildProcess(
            binary,
            ["--database-url", postgres.url, "--admin-token-file", tokenFile, "--log-level", "info"] + extra,
            environment: ["WEFT_LISTEN": "127.0.0.1:0"])
        guard await process.outputAppears("[WeftRegistry] listening", timeout: 30),
            await process.outputAppears("address=127.0.0.1:", timeout: 5),
            let match = process.output.firstMatch(of: /address=127\.0\.0\.1:(\d+)/), let port = Int(match.1)
        else {
            Issue.record("the registry did not start: \(process.output)")
            throw HarnessFailure.neverReady
        }
        return Replica(process: process, port: port)
    }

    @Test func documentsItsFlagsAndRefusesBadOnes() async throws {
        try await blocking {
            let help = try ChildProcess.run(Self.binary, ["--help"])
            #expect(help.status == 0)
            for text in [
                "--database-url", "--listen", "--admin-token-file", "--deregister-after", "--db-connections",
                "--log-level",
                "--mesh-listen", "--ca-fingerprint", "--join-token-file", "WEFT_MESH_LISTEN",
                "WEFT_DATABASE_URL", "WEFT_ADMIN_TOKEN", "SIGTERM",
            ] {
                #expect(help.output.contains(text), "--help lacks \(text)")
            }
            let cases: [([String], String)] = [
                (["--listen", "nope"], "--listen: expected host:port"),
                (["--deregister-after", "0"], "--deregister-after must be a whole number from 1"),
                (["--log-level", "loud"], "unknown level loud"),
                (["--admin-token-file", "/nonexistent/token"], "cannot read /nonexistent/token"),
                (["--bogus"], "Unknown option '--bogus'"),
                (["--mesh-listen", "127.0.0.1:0"], "--mesh-listen needs --ca"),
                (["--ca", "https://ca:8600", "--ca-bundle", "b.pem", "--data-dir", "d"], "give --mesh-listen too"),
                (
                    ["--mesh-listen", "nope", "--ca", "https://ca:8600", "--ca-bundle", "b.pem", "--data-dir", "d"],
                    "--mesh-listen: expected host:port"
                ),
            ]
            for (arguments, message) in cases {
                let result = try ChildProcess.run(Self.binary, arguments)
                #expect(result.status == 64, "\(arguments) exited with \(result.status)")
                #expect(result.output.contains(message), "\(arguments): \(result.output)")
            }
            let short = try ChildProcess(Self.binary, [], environment: ["WEFT_ADMIN_TOKEN": "short"])
            #expect((short.wait() >> 8) & 0xff == 64)
            #expect(short.output.contains("16 to 512 characters"))
        }
    }

    @Test func generatesAPrivateAdminTokenOnceWhenNoneIsConfigured() async throws {
        try await TemporaryPostgres.with { postgres in
            let directory = NSTemporaryDirectory() + "/weft-registry-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var tokens: [String] = []
            for _ in 0..<2 {
                // In `directory` (env -C): the token file lands in its working directory.
                let process = try ChildProcess(
                    "/usr/bin/env",
                    ["-C", directory, Self.binary, "--database-url", postgres.url, "--listen", "127.0.0.1:0"],
                    environment: ["WEFT_ADMIN_TOKEN": "", "WEFT_ADMIN_TOKEN_FILE": ""])
                #expect(await process.outputAppears("address=127.0.0.1:", timeout: 30), "\(process.output)")
                #expect(!process.output.contains("wat_"), "the token must not be logged")
                let path = directory + "/.weft/registry-admin-token"
                var status = stat()
                #expect(stat(path, &status) == 0)
                #expect(status.st_mode & 0o777 == 0o600)
                tokens.append(try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .newlines))
                let port = try #require(
                    process.output.firstMatch(of: /address=127\.0\.0\.1:(\d+)/).flatMap { Int($0.1) })
                let reply = try await RegistryHarness.call(port: port, "GET", "/v1/services", token: tokens.last!)
                #expect(reply.status == 200)
                #expect(ChildProcess.succeeded(await process.stopped()))
            }
            #expect(tokens[0] == tokens[1], "a restart reuses the generated token")
            #expect(tokens[0].hasPrefix("wat_"))
        }
    }

    @Test func aWriteThroughOneReplicaWakesAWatcherOnAnother() async throws {
        try await TemporaryPostgres.with { postgres in
            let token = try Self.tokenFile()
            defer { unlink(token) }
            let first = try await Self.start(postgres, tokenFile: token)
            let second = try await Self.start(postgres, tokenFile: token)
            #expect(try await first.call("POST", "/v1/services", body: #"{"name":"catalog"}"#).status == 201)
            let request = #"{"kind":"sidecar","service":{"service":"web"},"upstreams":[{"service":"catalog"}]}"#
            var index = 0
            #expect(
                try await eventually {
                    let reply = try await second.call("POST", "/v1/discovery", body: request)
                    index = Int(reply.header("X-Weft-Index") ?? "") ?? 0
                    return index >= 1
                })
            let watching = Task {
                try await second.call("POST", "/v1/discovery?index=\(index)&wait=60s", body: request, timeout: 90)
            }
            #expect(
                try await eventually(seconds: 30) {
                    try await second.call("GET", "/metrics").text.contains("\nweft_registry_watchers 1")
                })
            let instance = #"{"id":"c-1","service":"catalog","address":"10.0.0.5","port":9000}"#
            let written = try await first.call("PUT", "/v1/instances/default/catalog/c-1", body: instance)
            #expect(written.status == 200)
            let writeVersion = Int(written.header("X-Weft-Index") ?? "") ?? .max
            let woken = try await watching.value
            #expect(woken.status == 200)
            #expect(Int(woken.header("X-Weft-Index") ?? "") ?? 0 >= writeVersion)
            #expect(woken.text.contains("10.0.0.5"))
            // And the other replica's admin reads see it.
            #expect(try await second.call("GET", "/v1/instances/default/catalog/c-1").status == 200)
            #expect(ChildProcess.succeeded(await first.process.stopped()))
            #expect(ChildProcess.succeeded(await second.process.stopped()))
        }
    }

    /// What two writers were told, and when: the phase (before the crash, during
    /// it, after it) each acknowledged write was answered in.
    actor WriteLedger {
        enum Phase: Int { case before, down, after }
        var phase = Phase.before
        var acknowledged: [(name: String, phase: Phase)] = []
        var attempted: Set<String> = []
        var refusedWhileDown: RegistryHarness.Reply?

        func enter(_ next: Phase) { phase = next }
        func attempt(_ name: String) { attempted.insert(name) }
        func record(_ name: String, _ reply: RegistryHarness.Reply?) {
            guard let reply else { return }
            if (200..<300).contains(reply.status) {
                acknowledged.append((name, phase))
            } else if phase == .down, reply.status == 503, refusedWhileDown == nil {
                refusedWhileDown = reply
            }
        }
        func count(_ wanted: Phase) -> Int { acknowledged.count { $0.phase == wanted } }
    }

    /// PostgreSQL crashes (`-m immediate`, running with its shipped durability
    /// settings) under two replicas taking writes through both: while it is down
    /// writes answer 503 and reads, discovery and readiness are served from the
    /// last state; it comes back by itself; every write acknowledged on either
    /// side of the crash is in the database afterwards; and a watcher blocked
    /// on one replica since before the crash is woken by a write made through
    /// the other one after recovery.
    @Test func acknowledgedWritesSurviveACrashAndAWatcherHearsOfTheFirstChangeAfterIt() async throws {
        try await TemporaryPostgres.with(durable: true) { postgres in
            guard postgres.canRestart else { return }
            let token = try Self.tokenFile()
            defer { unlink(token) }
            let watched = try await Self.start(postgres, tokenFile: token)
            let other = try await Self.start(postgres, tokenFile: token)
            for name in ["catalog", "inventory"] {
                #expect(try await watched.call("POST", "/v1/services", body: #"{"name":"\#(name)"}"#).status == 201)
            }
            let request = #"{"kind":"sidecar","service":{"service":"web"},"upstreams":[{"service":"catalog"}]}"#
            let before = try await watched.call("POST", "/v1/discovery", body: request)
            let index = Int(before.header("X-Weft-Index") ?? "") ?? 0
            #expect(index > 0)
            // Blocked on `catalog` through the crash (the writes around it are
            // to other services and do not wake it), for longer than this test
            // waits for it.
            let watching = Task {
                try await watched.call("POST", "/v1/discovery?index=\(index)&wait=300s", body: request, timeout: 330)
            }

            // Two writers, one per replica, each alternating a service creation
            // (a plain transaction) and an instance registration (a group
            // commit), without pause, until told to stop.
            let ledger = WriteLedger()
            let writing = Task {
                await withTaskGroup(of: Void.self) { group in
                    for (side, replica) in [watched, other].enumerated() {
                        group.addTask {
                            var number = 0
                            while !Task.isCancelled {
                                number += 1
                                let service = "s\(side)-\(number)"
                                await ledger.attempt(service)
                                let created = try? await replica.call(
                                    "POST", "/v1/services", body: #"{"name":"\#(service)"}"#, timeout: 10)
                                await ledger.record(service, created)
                                let instance = "i\(side)-\(number)"
                                await ledger.attempt(instance)
                                let body =
                                    #"{"id":"\#(instance)","service":"inventory","address":"10.1.0.1","port":80}"#
                                let registered = try? await replica.call(
                                    "PUT", "/v1/instances/default/inventory/\(instance)", body: body, timeout: 10)
                                await ledger.record(instance, registered)
                                if created == nil || registered == nil { try? await Task.sleep(for: .milliseconds(20)) }
                            }
                        }
                    }
                }
            }
            #expect(try await eventually(seconds: 30) { await ledger.count(.before) >= 20 })
            try await postgres.crashed()
            await ledger.enter(.down)

            // Down: writes answer 503 with Retry-After and a generic reason;
            // reads and discovery serve the last state.
            #expect(try await eventually(seconds: 30) { await ledger.refusedWhileDown != nil })
            let refused = try #require(await ledger.refusedWhileDown)
            #expect(refused.header("Retry-After") == "2")
            #expect(refused.header("Content-Type") == "application/problem+json")
            // The answer says what happened, not where the database lives: the
            // driver's message (host, port) goes to the log only.
            #expect(refused.text.contains("cannot reach its database"), "\(refused.text)")
            #expect(!refused.text.contains(String(postgres.port)), "\(refused.text)")
            for replica in [watched, other] {
                #expect(try await replica.call("GET", "/v1/services/default/catalog").status == 200)
                let cached = try await replica.call("POST", "/v1/discovery", body: request)
                #expect(cached.status == 200)
                #expect(cached.text.contains(#""service":"catalog""#), "\(cached.text)")
                #expect(try await replica.call("GET", "/readyz").status == 200)
            }

            try await postgres.resumed()
            await ledger.enter(.after)
            // Recovers without help: both writers are acknowledged again.
            #expect(try await eventually(seconds: 60) { await ledger.count(.after) >= 20 })
            writing.cancel()
            await writing.value

            // The first change to what the watcher watches, made through the
            // other replica, wakes it, well before its own wait runs out.
            let instance = #"{"id":"c-after","service":"catalog","address":"10.0.0.77","port":9000}"#
            #expect(try await other.call("PUT", "/v1/instances/default/catalog/c-after", body: instance).status == 200)
            let woken = try await withThrowingTaskGroup(of: RegistryHarness.Reply?.self) { group in
                group.addTask { try await watching.value }
                group.addTask {
                    try await Task.sleep(for: .seconds(60))
                    return nil
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
            #expect(woken?.status == 200, "the watcher blocked across the crash was not woken by the change")
            #expect(woken?.text.contains("10.0.0.77") == true)
            #expect(Int(woken?.header("X-Weft-Index") ?? "") ?? 0 > index)
            watching.cancel()

            // Every acknowledged write is a row; every row is a write that was
            // attempted (one whose answer was lost may or may not have landed).
            let pool = PostgresPool(PostgresPool.Configuration(url: postgres.url))
            let stored = try await pool.withShutdown { pool in
                let services = try await pool.query("SELECT name FROM services").map {
                    try $0.decode(0, as: String.self)
                }
                let instances = try await pool.query("SELECT id FROM instances").map {
                    try $0.decode(0, as: String.self)
                }
                return Set(services + instances)
            }
            let acknowledged = await ledger.acknowledged
            let attempted = await ledger.attempted
            let lost = acknowledged.map(\.name).filter { !stored.contains($0) }
            #expect(lost.isEmpty, "acknowledged but lost: \(lost)")
            let phantom = stored.subtracting(attempted).subtracting(["catalog", "inventory", "c-after"])
            #expect(phantom.isEmpty, "rows nobody wrote: \(phantom)")
            #expect(ChildProcess.succeeded(await watched.process.stopped()))
            #expect(ChildProcess.succeeded(await other.process.stopped()))
        }
    }

    /// SIGTERM while heartbeats wait for a commit that PostgreSQL is holding up
    /// (a test transaction holds the registry's write lock): the server stops
    /// taking calls but answers those it took, the batcher commits every queued
    /// heartbeat before the process exits, and each acknowledged one is in the
    /// database.
    @Test func queuedHeartbeatsAreCommittedBeforeSIGTERMEndsTheProcess() async throws {
        try await TemporaryPostgres.with { postgres in
            let token = try Self.tokenFile()
            defer { unlink(token) }
            let replica = try await Self.start(postgres, tokenFile: token)
            #expect(try await replica.call("POST", "/v1/services", body: #"{"name":"catalog"}"#).status == 201)
            let count = 40
            for number in 0..<count {
                let body = #"{"id":"c-\#(number)","service":"catalog","address":"10.0.0.1","port":80}"#
                #expect(
                    try await replica.call("PUT", "/v1/instances/default/catalog/c-\(number)", body: body).status == 200
                )
            }

            // Hold the lock every registry write takes first.
            let blocker = try PostgresConnection(url: postgres.url)
            try blocker.query("BEGIN")
            try blocker.query("SELECT version FROM registry_version FOR UPDATE")
            let beats = (0..<count).map { number in
                Task {
                    try await replica.call(
                        "PUT", "/v1/instances/default/catalog/c-\(number)/heartbeat", body: #"{"health":"warning"}"#,
                        timeout: 60)
                }
            }
            // Until the first batch waits on the lock.
            let observer = PostgresPool(PostgresPool.Configuration(url: postgres.url))
            #expect(
                try await eventually(seconds: 30) {
                    let waiting = try await observer.query(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%registry_version%'"
                    )
                    return try waiting[0].decode(0, as: Int64.self) > 0
                })
            await observer.shutdown()
            replica.process.signal(SIGTERM)
            // Until the listener has closed: the shutdown is under way.
            #expect(
                try await eventually(seconds: 30) {
                    (try? await replica.call("GET", "/readyz", timeout: 2)) == nil
                }, "the listener stayed open after SIGTERM")
            try blocker.query("COMMIT")

            var acknowledged = 0
            for beat in beats {
                let reply = try await beat.value
                #expect(
                    reply.status == 200, "a heartbeat taken before SIGTERM was answered \(reply.status): \(reply.text)")
                if reply.status == 200 { acknowledged += 1 }
            }
            #expect(acknowledged == count)
            #expect(ChildProcess.succeeded(await replica.process.exited()), "\(replica.process.output)")
            let renewed = try blocker.query("SELECT count(*) FROM instances WHERE health = 'warning'")
            #expect(try renewed[0].decode(0, as: Int64.self) == Int64(acknowledged))
        }
    }

    @Test func answersBlockedQueriesAndExitsCleanlyOnSIGTERM() async throws {
        try await TemporaryPostgres.with { postgres in
            let token = try Self.tokenFile()
            defer { unlink(token) }
            let replica = try await Self.start(postgres, tokenFile: token)
            // A first write, so the index is not 0 (which asks for an answer at
            // once rather than a wait).
            #expect(try await replica.call("POST", "/v1/services", body: #"{"name":"catalog"}"#).status == 201)
            let request = #"{"kind":"sidecar","service":{"service":"web"}}"#
            let current = try await replica.call("POST", "/v1/discovery", body: request)
            let index = try #require(current.header("X-Weft-Index"))
            #expect(index != "0")
            // The accept queue is the kernel's ceiling, not Hummingbird's 256: a
            // thousand proxies reconnecting at once must not overflow it.
            let somaxconn = try String(contentsOfFile: "/proc/sys/net/core/somaxconn", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let listening = try ChildProcess.run("/usr/bin/ss", ["-ltnH", "sport = :\(replica.port)"]).output
            #expect(
                listening.split(whereSeparator: \.isWhitespace).dropFirst(2).first.map(String.init) == somaxconn,
                "ss: \(listening)")
            let started = Date()
            // Blocked for longer than this test waits for it.
            let watching = Task {
                try await replica.call("POST", "/v1/discovery?index=\(index)&wait=300s", body: request, timeout: 330)
            }
            // Blocked before the signal, so shutdown is what answers it.
            #expect(
                try await eventually(seconds: 30) {
                    try await replica.call("GET", "/metrics").text.contains("\nweft_registry_watchers 1")
                })
            replica.process.signal(SIGTERM)
            let answered = try await watching.value
            #expect(answered.status == 200)
            #expect(Date().timeIntervalSince(started) < 60, "the blocked query was not released at shutdown")
            #expect(ChildProcess.succeeded(await replica.process.exited()))
            #expect(replica.process.output.contains("stopped"))
        }
    }
}
