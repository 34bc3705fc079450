import ArgumentParser
import Foundation
import Logging
import NIOPosix
import WeftAPIServer
import WeftIdentity
import WeftProtocol
import WeftRegistry
import WeftService

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
            "Open connections per listener; more are closed as they arrive (default 10000). Env: WEFT_MAX_CONNECTIONS.",
            valueName: "n"))
    var maxConnections: Int?

    @Option(
        help: ArgumentHelp(
            "The mesh listener: the same API over mutual TLS, where workloads are known by their certificates (needs --ca). Env: WEFT_MESH_LISTEN.",
            valueName: "host:port"))
    var meshListen: String?

    @Option(
        help: ArgumentHelp(
            "The mesh's trust domain, for the registry's own identity spiffe://<domain>/ns/weft-system/sa/weft-registry (default weft.local). Env: WEFT_TRUST_DOMAIN.",
            valueName: "domain"))
    var trustDomain: String?

    /// --ca and its flags: the mesh listener's certificate, from weft-ca.
    @OptionGroup var identity: IdentityOptions

    @Option(
        help: ArgumentHelp(
            "trace, debug, info, notice, warning, error or critical (default info). Env: WEFT_LOG_LEVEL.",
            valueName: "level"))
    var logLevel: String?

    func run() async throws {
        let settings = ServiceSettings(environment: ProcessInfo.processInfo.environment)
        let level: Logger.Level
        let address: ListenAddress
        let grace: Int
        let connections: Int
        let mesh: (address: ListenAddress, enrollment: AuthorityEnrollment, identity: SPIFFEID)?
        let limit: Int?
        do {
            level = try settings.logLevel(logLevel)
            address = try settings.listen(listen, default: "127.0.0.1:8500")
            grace =
                try settings.integer(deregisterAfter, "WEFT_DEREGISTER_AFTER", "--deregister-after", 1...86_400) ?? 120
            connections = try settings.integer(dbConnections, "WEFT_DB_CONNECTIONS", "--db-connections", 2...200) ?? 10
            mesh = try meshSettings(settings)
            limit = try settings.integer(maxConnections, "WEFT_MAX_CONNECTIONS", "--max-connections", 16...1_000_000)
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
        }
        ServiceSettings.bootstrapLogging(level: level)
        let logger = Logger(label: "weft-registry")
        let environment = settings.environment
        func setting(_ flag: String?, _ variable: String) -> String? { settings.value(flag, variable) }

        var configuration = RegistryConfiguration(adminToken: try adminToken(environment, logger: logger))
        configuration.databaseURL = setting(databaseURL, "WEFT_DATABASE_URL") ?? configuration.databaseURL
        configuration.host = address.host
        configuration.port = address.port
        configuration.deregisterAfter = .seconds(grace)
        configuration.maximumDatabaseConnections = connections
        if let limit { configuration.connectionLimits.maximumConnections = limit }
        var workload: WorkloadIdentity?
        if let mesh {
            // The registry's own certificate, before anything listens: from what
            // its data directory keeps, else with its join token.
            do {
                workload = try WorkloadIdentity.obtain(
                    .authority(mesh.enrollment), identity: mesh.identity, group: MultiThreadedEventLoopGroup.singleton,
                    logger: logger, applicationProtocols: ["http/1.1"])
            } catch {
                logger.critical("cannot start: \(error)")
                throw ExitCode(78)
            }
            workload?.start()
            configuration.meshHost = mesh.address.host
            configuration.meshPort = mesh.address.port
            configuration.meshIdentity = workload
        }
        defer { workload?.stop() }
        try await RegistryServer(configuration: configuration, logger: logger).run()
    }

    /// The mesh listener's address, the registry's enrollment with weft-ca, and
    /// its identity; nil without --mesh-listen.
    func meshSettings(_ settings: ServiceSettings) throws
        -> (address: ListenAddress, enrollment: AuthorityEnrollment, identity: SPIFFEID)?
    {
        let enrollment = try identity.enrollmentOrUsageError(settings)
        guard let text = settings.value(meshListen, "WEFT_MESH_LISTEN") else {
            if enrollment != nil { throw ValidationError("--ca is for the mesh listener: give --mesh-listen too") }
            return nil
        }
        guard let enrollment else {
            throw ValidationError(
                "--mesh-listen needs --ca, --ca-bundle (or --ca-fingerprint), --data-dir and, the first time, --join-token-file"
            )
        }
        let address: ListenAddress
        do {
            address = try ListenAddress(validating: text)
        } catch {
            throw ValidationError("--mesh-listen: \(error.reason)")
        }
        let domain = settings.value(trustDomain, "WEFT_TRUST_DOMAIN") ?? "weft.local"
        do {
            return (
                address, enrollment,
                try SPIFFEID(
                    trustDomain: domain, namespace: .init(validating: "weft-system"),
                    service: .init(validating: "weft-registry"))
            )
        } catch {
            throw ValidationError("--trust-domain: \(error.reason)")
        }
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
