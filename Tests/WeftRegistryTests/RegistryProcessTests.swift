import Foundation
import Testing
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

    @Test func documentsItsFlagsAndRefusesBadOnes() throws {
        let help = try ChildProcess.run(Self.binary, ["--help"])
        #expect(help.status == 0)
        for text in [
            "--database-url", "--listen", "--admin-token-file", "--deregister-after", "--db-connections", "--log-level",
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
            try await Task.sleep(for: .milliseconds(300))
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

    @Test func servesTheLastStateWhilePostgresIsDownAndRecoversByItself() async throws {
        try await TemporaryPostgres.with { postgres in
            guard postgres.canRestart else { return }
            let token = try Self.tokenFile()
            defer { unlink(token) }
            let replica = try await Self.start(postgres, tokenFile: token)
            #expect(try await replica.call("POST", "/v1/services", body: #"{"name":"catalog"}"#).status == 201)
            let request = #"{"kind":"sidecar","service":{"service":"web"},"upstreams":[{"service":"catalog"}]}"#
            let before = try await replica.call("POST", "/v1/discovery", body: request)
            let index = Int(before.header("X-Weft-Index") ?? "") ?? 0

            // Writes in flight while the server stops: each either answers 2xx (and
            // must survive) or fails; none may be acknowledged and then lost.
            let writes = (0..<20).map { number in
                Task {
                    try? await Task.sleep(for: .milliseconds(number * 15))
                    let reply = try? await replica.call("POST", "/v1/services", body: #"{"name":"s\#(number)"}"#)
                    return (number, reply?.status ?? 0)
                }
            }
            // Blocked on `catalog` through the outage (the service writes
            // around it concern other services and do not wake it), for longer
            // than this test waits for it.
            let watching = Task {
                try await replica.call("POST", "/v1/discovery?index=\(index)&wait=300s", body: request, timeout: 330)
            }
            try await Task.sleep(for: .milliseconds(100))
            try postgres.pause()
            var acknowledged: [Int] = []
            for write in writes {
                let (number, status) = await write.value
                if (200..<300).contains(status) { acknowledged.append(number) }
            }

            // Down: writes answer 503 with Retry-After; reads and discovery serve the last state.
            let refused = try await replica.call("POST", "/v1/services", body: #"{"name":"late"}"#)
            #expect(refused.status == 503)
            #expect(refused.header("Retry-After") != nil)
            #expect(refused.header("Content-Type") == "application/problem+json")
            // The answer says what happened, not where the database lives: the
            // driver's message (host, port) goes to the log only.
            #expect(refused.text.contains("cannot reach its database"))
            #expect(!refused.text.contains(String(postgres.port)), "\(refused.text)")
            #expect(try await replica.call("GET", "/v1/services/default/catalog").status == 200)
            let cached = try await replica.call("POST", "/v1/discovery", body: request)
            #expect(cached.status == 200)
            #expect(try await replica.call("GET", "/readyz").status == 200)

            try postgres.resume()
            // Recovers without help: writes succeed again, and the watcher blocked
            // since before the outage is woken by the first change to what it
            // watches (an instance of `catalog`), well before its own wait runs out.
            #expect(
                try await eventually(seconds: 30) {
                    try await replica.call("POST", "/v1/services", body: #"{"name":"after"}"#).status == 201
                })
            let instance = #"{"id":"c-after","service":"catalog","address":"10.0.0.77","port":9000}"#
            #expect(
                try await replica.call("PUT", "/v1/instances/default/catalog/c-after", body: instance).status == 200)
            let woken = try await withThrowingTaskGroup(of: RegistryHarness.Reply?.self) { group in
                group.addTask { try await watching.value }
                group.addTask {
                    try await Task.sleep(for: .seconds(60))
                    return nil
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
            #expect(woken?.status == 200, "the watcher blocked across the outage was not woken by the change")
            #expect(woken?.text.contains("10.0.0.77") == true)
            #expect(Int(woken?.header("X-Weft-Index") ?? "") ?? 0 > index)
            watching.cancel()
            for number in acknowledged {
                #expect(
                    try await replica.call("GET", "/v1/services/default/s\(number)").status == 200,
                    "acknowledged write s\(number) was lost")
            }
            #expect(ChildProcess.succeeded(await replica.process.stopped()))
        }
    }

    @Test func answersBlockedQueriesAndExitsCleanlyOnSIGTERM() async throws {
        try await TemporaryPostgres.with { postgres in
            let token = try Self.tokenFile()
            defer { unlink(token) }
            let replica = try await Self.start(postgres, tokenFile: token)
            let request = #"{"kind":"sidecar","service":{"service":"web"}}"#
            let current = try await replica.call("POST", "/v1/discovery", body: request)
            let index = current.header("X-Weft-Index") ?? "0"
            // The accept queue is the kernel's ceiling, not Hummingbird's 256: a
            // thousand proxies reconnecting at once must not overflow it.
            let somaxconn = try String(contentsOfFile: "/proc/sys/net/core/somaxconn", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let listening = try ChildProcess.run("/usr/bin/ss", ["-ltnH", "sport = :\(replica.port)"]).output
            #expect(
                listening.split(whereSeparator: \.isWhitespace).dropFirst(2).first.map(String.init) == somaxconn,
                "ss: \(listening)")
            let started = Date()
            // Blocked on `catalog` through the outage (the service writes
            // around it concern other services and do not wake it), for longer
            // than this test waits for it.
            let watching = Task {
                try await replica.call("POST", "/v1/discovery?index=\(index)&wait=300s", body: request, timeout: 330)
            }
            try await Task.sleep(for: .milliseconds(300))
            replica.process.signal(SIGTERM)
            let answered = try await watching.value
            #expect(answered.status == 200)
            #expect(Date().timeIntervalSince(started) < 60, "the blocked query was not released at shutdown")
            #expect(ChildProcess.succeeded(await replica.process.exited()))
            #expect(replica.process.output.contains("stopped"))
        }
    }
}
