import Foundation
import Logging
import WeftCA
import WeftPostgres
import WeftTestSupport

/// A CA replica running in this process on its own database of the shared
/// throwaway PostgreSQL and its own data directory, spoken to over real TLS by
/// curl (the CA's anchors from `<data-dir>/trust-bundle.pem` as `--cacert`,
/// client certificates with `--cert`/`--key`).
final class CAHarness: Sendable {
    static let adminToken = "test-ca-admin-token-0123456789"
    static let trustDomain = "weft.test"

    let postgres: TemporaryPostgres
    let database: String
    let scratch: Scratch
    let port: Int
    let task: Task<Void, any Error>
    /// Whether this replica made the database (and drops it on `stop`).
    let ownsDatabase: Bool

    private init(
        postgres: TemporaryPostgres, database: String, scratch: Scratch, port: Int, task: Task<Void, any Error>,
        ownsDatabase: Bool = true
    ) {
        self.postgres = postgres
        self.database = database
        self.scratch = scratch
        self.port = port
        self.task = task
        self.ownsDatabase = ownsDatabase
    }

    var dataDirectory: String { scratch.file("data") }
    var bundleFile: String { dataDirectory + "/trust-bundle.pem" }
    var databaseURL: String { postgres.url(database: database) }

    static func identity(_ service: String, namespace: String = "shop") -> String {
        "spiffe://\(trustDomain)/ns/\(namespace)/sa/\(service)"
    }

    /// Starts a replica on a new database and data directory, or, with
    /// `sharing`, another replica on that one's database and data directory
    /// (as replicas behind one service share a volume).
    static func start(
        sharing other: CAHarness? = nil, configure: (inout CAConfiguration) -> Void = { _ in }
    ) async throws -> CAHarness {
        let postgres = try other?.postgres ?? TemporaryPostgres.sharedInstance()
        let database = other?.database ?? "ca_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())"
        if other == nil {
            let admin = PostgresPool(PostgresPool.Configuration(url: postgres.url))
            try await admin.query("CREATE DATABASE \(database)")
            await admin.shutdown()
        }
        let scratch = try other?.scratch ?? Scratch()
        var configuration = CAConfiguration(
            adminToken: adminToken, dataDirectory: scratch.file("data"), trustDomain: trustDomain)
        configuration.databaseURL = postgres.url(database: database)
        configuration.port = 0
        configuration.rootPropagation = .seconds(0)
        configure(&configuration)
        var logger = Logger(label: "test-ca")
        logger.logLevel = .warning
        let server = CAServer(configuration: configuration, logger: logger)
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let task = Task {
            defer { portSink.finish() }
            try await server.run(handleSignals: false) { portSink.yield($0) }
        }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        let harness = CAHarness(
            postgres: postgres, database: database, scratch: scratch, port: port, task: task,
            ownsDatabase: other == nil)
        guard port != 0 else {
            let outcome = await task.result
            await harness.stop()
            throw CAHarnessFailure(description: "the CA did not start: \(outcome)")
        }
        return harness
    }

    /// A change to the test configuration (a value, so call sites keep one
    /// trailing closure: the test body).
    struct Change {
        let apply: (inout CAConfiguration) -> Void
        init(_ apply: @escaping (inout CAConfiguration) -> Void) { self.apply = apply }
    }

    static func with(
        configuration change: Change = Change { _ in }, _ body: (CAHarness) async throws -> Void
    ) async throws {
        let ca = try await start(configure: change.apply)
        do {
            try await body(ca)
        } catch {
            await ca.stop()
            throw error
        }
        await ca.stop()
    }

    func stop() async {
        task.cancel()
        _ = await task.result
        guard ownsDatabase else { return }
        let admin = PostgresPool(PostgresPool.Configuration(url: postgres.url))
        _ = try? await admin.query("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
        await admin.shutdown()
    }

    /// Runs SQL on this CA's database (to move a clock-bound fact, like a
    /// token's expiry, into the past).
    func sql(_ statement: String, _ parameters: [String?] = []) async throws -> [PostgresRow] {
        let pool = PostgresPool(PostgresPool.Configuration(url: databaseURL))
        defer { Task { await pool.shutdown() } }
        return try await pool.query(statement, parameters)
    }

    struct Reply: Sendable {
        var status: Int
        var headers: [String: String]
        var body: Data
        /// curl's exit code (0 unless the connection or handshake failed).
        var curlStatus: Int32
        var curlOutput: String
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        func header(_ name: String) -> String? { headers[name.lowercased()] }
        var problemType: String? {
            (json["type"] as? String)?.replacingOccurrences(of: "https://weft.dev/problems/", with: "")
        }
        var detail: String { json["detail"] as? String ?? "" }
    }

    /// A client's key and certificate chain on disk, for mutual TLS.
    struct ClientCertificate: Sendable {
        var certificateFile: String
        var keyFile: String
    }

    /// One HTTPS call through curl.
    func call(
        _ method: String, _ path: String, body: String? = nil, token: String? = CAHarness.adminToken,
        client: ClientCertificate? = nil, headers: [String: String] = [:],
        contentType: String? = "application/json", cacert: String? = nil
    ) async throws -> Reply {
        let id = UUID().uuidString
        let bodyFile = scratch.file("reply-\(id)")
        let headerFile = scratch.file("headers-\(id)")
        var arguments = [
            "-sS", "--max-time", "30", "-X", method, "--cacert", cacert ?? bundleFile, "-o", bodyFile, "-D", headerFile,
            "https://127.0.0.1:\(port)\(path)",
        ]
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        if let body {
            let requestFile = try scratch.write("request-\(id)", body)
            arguments += ["--data-binary", "@" + requestFile]
            if let contentType { arguments += ["-H", "Content-Type: \(contentType)"] }
        }
        for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
        if let client { arguments += ["--cert", client.certificateFile, "--key", client.keyFile] }
        let curl = try ChildProcess("/usr/bin/curl", arguments)
        let status = (await curl.exited() >> 8) & 0xff
        defer {
            for file in [bodyFile, headerFile] { unlink(file) }
            unlink(curl.outputPath)
        }
        let head = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
        var code = 0
        var fields: [String: String] = [:]
        for line in head.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("HTTP/") {
                code = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
            } else if let colon = line.firstIndex(of: ":") {
                fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                    in: .whitespaces)
            }
        }
        return Reply(
            status: code, headers: fields, body: (try? Data(contentsOf: URL(fileURLWithPath: bodyFile))) ?? Data(),
            curlStatus: status, curlOutput: curl.output)
    }

    /// Creates a join token; returns its secret and id.
    func joinToken(for identity: String, maxUses: Int = 1, ttl: String? = nil) async throws -> (
        secret: String, id: String
    ) {
        var body = #"{"identity":"\#(identity)","max_uses":\#(maxUses)"#
        if let ttl { body += #","ttl":"\#(ttl)""# }
        let reply = try await call("POST", "/v1/join-tokens", body: body + "}")
        guard reply.status == 201, let secret = reply.json["secret"] as? String,
            let token = reply.json["token"] as? [String: Any], let id = token["id"] as? String
        else { throw CAHarnessFailure(description: "join token: \(reply.status) \(reply.text)") }
        return (secret, id)
    }

    /// A signing request body.
    static func signingBody(csr: String, token: String? = nil) throws -> String {
        var object: [String: String] = ["csr": csr]
        if let token { object["join_token"] = token }
        return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    /// A workload: its key (made by the openssl tool) and, once signed, its
    /// certificate chain on disk.
    struct Workload: Sendable {
        var name: String
        var identity: String
        var csr: String
        var client: ClientCertificate
        var serial: String
    }

    /// Makes a key and CSR for `service` and gets a first certificate with a new
    /// join token.
    func enroll(_ service: String) async throws -> Workload {
        let identity = Self.identity(service)
        let csr = try scratch.csr(service, uris: [identity])
        let token = try await joinToken(for: identity)
        let reply = try await call(
            "POST", "/v1/certificates/sign", body: try Self.signingBody(csr: csr, token: token.secret), token: nil)
        guard reply.status == 200, let chain = reply.json["chain"] as? String,
            let serial = reply.json["serial"] as? String
        else {
            throw CAHarnessFailure(description: "enroll \(service): \(reply.status) \(reply.text)")
        }
        let certificateFile = try scratch.write("\(service)-chain.pem", chain)
        return Workload(
            name: service, identity: identity, csr: csr,
            client: ClientCertificate(certificateFile: certificateFile, keyFile: scratch.file("\(service)-key.pem")),
            serial: serial)
    }

    /// Renews `workload`'s certificate over mutual TLS with its current one.
    func renew(_ workload: Workload) async throws -> (Reply, Workload) {
        let reply = try await call(
            "POST", "/v1/certificates/sign", body: try Self.signingBody(csr: workload.csr), token: nil,
            client: workload.client)
        guard reply.status == 200, let chain = reply.json["chain"] as? String,
            let serial = reply.json["serial"] as? String
        else {
            return (reply, workload)
        }
        var renewed = workload
        renewed.client.certificateFile = try scratch.write("\(workload.name)-chain-\(serial).pem", chain)
        renewed.serial = serial
        return (reply, renewed)
    }
}

struct CAHarnessFailure: Error, CustomStringConvertible {
    let description: String
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
