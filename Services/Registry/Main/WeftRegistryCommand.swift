import ArgumentParser
import Foundation
import Logging
import WeftProtocol
import WeftRegistry
import WeftTLS

/// `weft-registry`: read flags and `WEFT_*` variables, then run one replica.
@main
struct WeftRegistryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weft-registry",
        abstract: "The Weft service registry: catalog, configuration and discovery on PostgreSQL.",
        discussion: """
            Serves the admin REST API and the discovery API under /v1 (OpenAPI document at \
            /v1/openapi.json), plus /healthz, /readyz and /metrics. Several replicas may share \
            one database; each follows the others' changes through LISTEN/NOTIFY.

            Every option can also be set through the environment variable named after it \
            (a flag wins over the variable). The admin token comes from --admin-token-file, \
            else WEFT_ADMIN_TOKEN; with neither, a random token is generated into \
            .weft/registry-admin-token (mode 0600) in the working directory and reused on \
            later starts.

            Stops gracefully on SIGTERM or SIGINT: blocked discovery queries are answered, \
            calls in flight finish, queued heartbeats are committed.
            """)

    @Option(help: ArgumentHelp("libpq connection URL. Env: WEFT_DATABASE_URL.", valueName: "url"))
    var databaseURL: String?

    @Option(
        help: ArgumentHelp("Address to listen on (default 127.0.0.1:8500). Env: WEFT_LISTEN.", valueName: "host:port"))
    var listen: String?

    @Option(help: ArgumentHelp("File holding the admin bearer token. Env: WEFT_ADMIN_TOKEN_FILE.", valueName: "file"))
    var adminTokenFile: String?

    @Option(
        help: ArgumentHelp(
            "Seconds an instance whose TTL ran out stays listed as critical before it is removed (default 120). Env: WEFT_DEREGISTER_AFTER.",
            valueName: "seconds"))
    var deregisterAfter: Int?

    @Option(
        help: ArgumentHelp(
            "Most PostgreSQL connections in the pool (default 10). Env: WEFT_DB_CONNECTIONS.", valueName: "n"))
    var dbConnections: Int?

    @Option(
        help: ArgumentHelp(
            "trace, debug, info, notice, warning, error or critical (default info). Env: WEFT_LOG_LEVEL.",
            valueName: "level"))
    var logLevel: String?

    func run() async throws {
        // An empty variable counts as unset (compose files often pass `${VAR:-}`).
        let environment = ProcessInfo.processInfo.environment.filter { !$0.value.isEmpty }
        func setting(_ flag: String?, _ variable: String) -> String? { flag ?? environment[variable] }

        let levelText = setting(logLevel, "WEFT_LOG_LEVEL") ?? "info"
        guard let level = Logger.Level(rawValue: levelText) else {
            throw ValidationError(
                "--log-level: unknown level \(levelText); expected trace, debug, info, notice, warning, error or critical"
            )
        }
        let address: ListenAddress
        do {
            address = try ListenAddress(validating: setting(listen, "WEFT_LISTEN") ?? "127.0.0.1:8500")
        } catch {
            throw ValidationError("--listen: \(error.reason)")
        }
        let grace =
            try Self.integer(
                setting(deregisterAfter.map(String.init), "WEFT_DEREGISTER_AFTER"), "--deregister-after", 1...86_400)
            ?? 120
        let connections =
            try Self.integer(
                setting(dbConnections.map(String.init), "WEFT_DB_CONNECTIONS"), "--db-connections", 2...200) ?? 10

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "weft-registry")

        var configuration = RegistryConfiguration(adminToken: try adminToken(environment, logger: logger))
        configuration.databaseURL = setting(databaseURL, "WEFT_DATABASE_URL") ?? configuration.databaseURL
        configuration.host = address.host
        configuration.port = address.port
        configuration.deregisterAfter = .seconds(grace)
        configuration.maximumDatabaseConnections = connections
        try await RegistryServer(configuration: configuration, logger: logger).run()
    }

    /// The token in .weft/registry-admin-token, created on first start (mode 0600
    /// from the moment it exists: O_EXCL, not a file made readable and then
    /// narrowed) and reused afterwards, so a restart does not lock operators out.
    func generatedToken(logger: Logger) throws -> String {
        let directory = ".weft"
        let path = "\(directory)/registry-admin-token"
        if let existing = try? String(contentsOfFile: path, encoding: .utf8) {
            logger.notice("no admin token configured; using the generated one", metadata: ["file": "\(path)"])
            return existing.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let token = try SecretDigest.newSecret(prefix: "wat_")
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw ValidationError("cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ValidationError(
                "cannot write a generated admin token to \(path) (\(String(cString: strerror(errno)))); set WEFT_ADMIN_TOKEN or --admin-token-file"
            )
        }
        defer { close(descriptor) }
        let bytes = Array((token + "\n").utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count else {
            throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        logger.notice("no admin token configured; generated one", metadata: ["file": "\(path)"])
        return token
    }

    static func integer(_ text: String?, _ name: String, _ range: ClosedRange<Int>) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ValidationError(
                "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound); got \(text)")
        }
        return value
    }

    /// The admin token: from the file, else the variable, else a new one written
    /// to a private file so the operator can read it (it is never logged).
    func adminToken(_ environment: [String: String], logger: Logger) throws -> String {
        let token: String
        if let path = adminTokenFile ?? environment["WEFT_ADMIN_TOKEN_FILE"] {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ValidationError("--admin-token-file: cannot read \(path)")
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let text = environment["WEFT_ADMIN_TOKEN"] {
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            token = try generatedToken(logger: logger)
        }
        guard token.utf8.count >= 16, token.utf8.count <= 512, !token.contains(where: \.isWhitespace) else {
            throw ValidationError("the admin token must be 16 to 512 characters without spaces")
        }
        return token
    }
}
