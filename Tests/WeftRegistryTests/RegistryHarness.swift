import Foundation
import Logging
import Synchronization
import WeftPostgres
import WeftRegistry
import WeftTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A registry replica running in this process against a throwaway PostgreSQL,
/// spoken to over real HTTP (URLSession on loopback).
final class RegistryHarness: Sendable {
    static let adminToken = "test-admin-token-0123456789"

    let postgres: TemporaryPostgres
    /// The database this harness created on the shared server, if any.
    let database: String?
    let port: Int
    let task: Task<Void, any Error>

    private init(postgres: TemporaryPostgres, database: String?, port: Int, task: Task<Void, any Error>) {
        self.postgres = postgres
        self.database = database
        self.port = port
        self.task = task
    }

    /// Starts a replica on `postgres` when given, else on a new database of the
    /// process's shared server (dropped again by `stop`).
    static func start(
        postgres existing: TemporaryPostgres? = nil, configure: (inout RegistryConfiguration) -> Void = { _ in }
    ) async throws -> RegistryHarness {
        let postgres = try existing ?? TemporaryPostgres.sharedInstance()
        var database: String?
        var configuration = RegistryConfiguration(adminToken: adminToken)
        configuration.databaseURL = postgres.url
        if existing == nil {
            let name = "registry_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())"
            try await PostgresPool(PostgresPool.Configuration(url: postgres.url)).withShutdown { pool in
                try await pool.query("CREATE DATABASE \(name)")
            }
            database = name
            configuration.databaseURL = postgres.url(database: name)
        }
        configuration.port = 0
        configuration.reapInterval = .milliseconds(200)
        configure(&configuration)
        var logger = Logger(label: "test-registry")
        logger.logLevel = .warning
        let server = RegistryServer(configuration: configuration, logger: logger)
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let task = Task {
            defer { portSink.finish() }
            try await server.run(handleSignals: false) { portSink.yield($0) }
        }
        var iterator = ports.makeAsyncIterator()
        let harness = RegistryHarness(
            postgres: postgres, database: database, port: await iterator.next() ?? 0, task: task)
        guard harness.port != 0 else {
            await harness.stop()
            throw HarnessFailure.noPort
        }
        // Ready once the first state is loaded.
        for _ in 0..<400 {
            if try await harness.call("GET", "/readyz", token: nil).status == 200 { return harness }
            try await Task.sleep(for: .milliseconds(25))
        }
        await harness.stop()
        throw HarnessFailure.neverReady
    }

    /// Runs `body` against a new replica on a new database, stopping both
    /// whatever happens.
    static func with(
        configure: (inout RegistryConfiguration) -> Void = { _ in }, _ body: (RegistryHarness) async throws -> Void
    ) async throws {
        let registry = try await start(configure: configure)
        do {
            try await body(registry)
        } catch {
            await registry.stop()
            throw error
        }
        await registry.stop()
    }

    /// Stops the replica and drops the database it made; a server passed in by
    /// the caller is left to the caller.
    func stop() async {
        task.cancel()
        _ = await task.result
        if let database {
            _ = try? await PostgresPool(PostgresPool.Configuration(url: postgres.url)).withShutdown { pool in
                try await pool.query("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
            }
        }
    }

    struct Reply: Sendable {
        var status: Int
        var headers: [String: String]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
        }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    /// One HTTP call. `body` is sent as application/json unless `contentType` says otherwise.
    func call(
        _ method: String, _ path: String, body: String? = nil, token: String? = RegistryHarness.adminToken,
        headers: [String: String] = [:], contentType: String? = "application/json", timeout: Double = 30
    ) async throws -> Reply {
        try await Self.call(
            port: port, method, path, body: body.map { Data($0.utf8) }, token: token, headers: headers,
            contentType: contentType, timeout: timeout)
    }

    static func call(
        port: Int, _ method: String, _ path: String, body: Data? = nil, token: String? = adminToken,
        headers: [String: String] = [:], contentType: String? = "application/json", timeout: Double = 30
    ) async throws -> Reply {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = timeout
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = body
            if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields["\(name)"] = "\(value)" }
        return Reply(status: http.statusCode, headers: fields, body: data)
    }

    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 64
        configuration.timeoutIntervalForRequest = 120
        return URLSession(configuration: configuration)
    }()
}

/// Polls `condition` every 50 ms for up to `seconds`.
func eventually(seconds: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

enum HarnessFailure: Error {
    case noPort, neverReady
}

extension PostgresPool {
    /// Runs `body` with this pool, then shuts it down.
    @discardableResult
    func withShutdown<T>(_ body: (PostgresPool) async throws -> T) async throws -> T {
        do {
            let result = try await body(self)
            await shutdown()
            return result
        } catch {
            await shutdown()
            throw error
        }
    }
}
