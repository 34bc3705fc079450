import ArgumentParser
import Foundation
import Logging
import WeftAPIServer
import WeftProtocol
import WeftRegistry

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

    static func integer(_ text: String?, _ name: String, _ range: ClosedRange<Int>) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ValidationError(
                "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound); got \(text)")
        }
        return value
    }

    /// The admin token: from the file, else the variable, else one generated into
    /// .weft/registry-admin-token (never logged).
    func adminToken(_ environment: [String: String], logger: Logger) throws -> String {
        do {
            return try AdminToken.resolve(
                file: adminTokenFile ?? environment["WEFT_ADMIN_TOKEN_FILE"], value: environment["WEFT_ADMIN_TOKEN"],
                generatedPath: ".weft/registry-admin-token", logger: logger)
        } catch {
            throw ValidationError(error.description)
        }
    }
}
