import ArgumentParser
import Foundation
import Logging
import WeftAPIServer
import WeftCA
import WeftProtocol
import WeftService
import WeftTLS

/// `weft-ca`: read flags and `WEFT_*` variables, then run one CA replica.
@main
struct WeftCACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weft-ca",
        abstract: "The Weft certificate authority: SPIFFE workload certificates, trust bundle, rotation.",
        discussion: """
            Serves its API over TLS (OpenAPI document at /v1/openapi.json): certificate signing \
            for workloads (a join token for the first certificate, the current certificate over \
            mutual TLS for renewals), the trust bundle at /v1/bundle, and admin calls (join \
            tokens, the certificate ledger, revocation, root rotation) with the admin bearer \
            token; plus /healthz, /readyz and /metrics.

            On first start it creates a root (EC P-256) in --data-dir, or an intermediate under \
            --root-certificate/--root-key. Keys are written 0600 (encrypted with the passphrase \
            in --passphrase-file when given) and never logged or served. The current trust \
            anchors are written to <data-dir>/trust-bundle.pem: give that file to clients \
            (curl --cacert) and to workloads joining the mesh.

            Every option can also be set through the environment variable named after it (a \
            flag wins over the variable). The admin token comes from --admin-token-file, else \
            WEFT_ADMIN_TOKEN; with neither, a random token is generated into \
            <data-dir>/admin-token (mode 0600) and reused on later starts.

            Stops gracefully on SIGTERM or SIGINT: calls in flight finish and issued \
            certificates are recorded before it exits.
            """)

    @Option(help: ArgumentHelp("libpq connection URL. Env: WEFT_DATABASE_URL.", valueName: "url"))
    var databaseURL: String?

    @Option(
        help: ArgumentHelp("Address to listen on (default 127.0.0.1:8600). Env: WEFT_LISTEN.", valueName: "host:port"))
    var listen: String?

    @Option(help: ArgumentHelp("File holding the admin bearer token. Env: WEFT_ADMIN_TOKEN_FILE.", valueName: "file"))
    var adminTokenFile: String?

    @Option(
        help: ArgumentHelp(
            "Directory for the authorities' keys and certificates (default .weft/ca). Env: WEFT_DATA_DIR.",
            valueName: "dir"))
    var dataDir: String?

    @Option(
        help: ArgumentHelp("The SPIFFE trust domain (default weft.local). Env: WEFT_TRUST_DOMAIN.", valueName: "name"))
    var trustDomain: String?

    @Option(
        help: ArgumentHelp(
            "File holding the passphrase that encrypts the keys at rest. Env: WEFT_PASSPHRASE_FILE.", valueName: "file")
    )
    var passphraseFile: String?

    @Option(
        help: ArgumentHelp(
            "An operator's root certificate (PEM) to create an intermediate under on first start. Env: WEFT_ROOT_CERTIFICATE.",
            valueName: "file"))
    var rootCertificate: String?

    @Option(
        help: ArgumentHelp(
            "The private key (PEM, unencrypted) of --root-certificate; used once, not kept. Env: WEFT_ROOT_KEY.",
            valueName: "file"))
    var rootKey: String?

    @Option(
        help: ArgumentHelp(
            "Lifetime of workload certificates, e.g. 24h or 90m (default 24h, 5m to 30d). Env: WEFT_CERTIFICATE_LIFETIME.",
            valueName: "duration"))
    var certificateLifetime: String?

    @Option(
        help: ArgumentHelp(
            "How long a new root must be in the trust bundle before it may be activated (default 5m). Env: WEFT_ROOT_PROPAGATION.",
            valueName: "duration"))
    var rootPropagation: String?

    @Option(
        help: ArgumentHelp(
            "Comma-separated DNS names and IP addresses clients reach the CA by; its serving certificate names them (default localhost,127.0.0.1,::1). Env: WEFT_SERVER_NAMES.",
            valueName: "names"))
    var serverNames: String?

    @Option(
        help: ArgumentHelp(
            "Signing requests per second allowed from one client address (default 200). Env: WEFT_SIGN_RATE.",
            valueName: "n"))
    var signRate: Int?

    @Option(
        help: ArgumentHelp(
            "Open connections; more are closed as they arrive (default 10000). Env: WEFT_MAX_CONNECTIONS.",
            valueName: "n"))
    var maxConnections: Int?

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
        let settings = ServiceSettings(environment: ProcessInfo.processInfo.environment)
        func setting(_ flag: String?, _ variable: String) -> String? { settings.value(flag, variable) }
        let level: Logger.Level
        let address: ListenAddress
        let lifetime: WeftDuration?
        let propagation: WeftDuration?
        let rate: Int?
        let limit: Int?
        let connections: Int?
        do {
            level = try settings.logLevel(logLevel)
            address = try settings.listen(listen, default: "127.0.0.1:8600")
            lifetime = try settings.duration(
                certificateLifetime, "WEFT_CERTIFICATE_LIFETIME", "--certificate-lifetime",
                .seconds(300)...WeftDuration.seconds(30 * 86_400))
            propagation = try settings.duration(
                rootPropagation, "WEFT_ROOT_PROPAGATION", "--root-propagation",
                .seconds(0)...WeftDuration.seconds(7 * 86_400))
            rate = try settings.integer(signRate, "WEFT_SIGN_RATE", "--sign-rate", 1...1_000_000)
            limit = try settings.integer(maxConnections, "WEFT_MAX_CONNECTIONS", "--max-connections", 16...1_000_000)
            connections = try settings.integer(dbConnections, "WEFT_DB_CONNECTIONS", "--db-connections", 2...200)
        } catch {
            throw ValidationError(error.description)
        }
        let domain = setting(trustDomain, "WEFT_TRUST_DOMAIN") ?? "weft.local"
        if let problem = SPIFFEID.trustDomainProblem(domain) {
            throw ValidationError("--trust-domain: \(problem)")
        }
        let names = setting(serverNames, "WEFT_SERVER_NAMES")?.split(separator: ",").map {
            String($0).trimmingCharacters(in: .whitespaces)
        }
        if let names, names.isEmpty || names.contains(where: \.isEmpty) {
            throw ValidationError("--server-names: give one or more comma-separated names")
        }
        let directory = setting(dataDir, "WEFT_DATA_DIR") ?? ".weft/ca"

        ServiceSettings.bootstrapLogging(level: level)
        let logger = Logger(label: "weft-ca")

        do {
            // Each missing level is created private (0700), like the directory itself.
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ValidationError("--data-dir: cannot create \(directory): \(error.localizedDescription)")
        }
        let token: String
        do {
            token = try AdminToken.resolve(
                file: setting(adminTokenFile, "WEFT_ADMIN_TOKEN_FILE"), value: settings.environment["WEFT_ADMIN_TOKEN"],
                generatedPath: directory + "/admin-token", logger: logger)
        } catch {
            throw ValidationError(error.description)
        }
        var configuration = CAConfiguration(adminToken: token, dataDirectory: directory, trustDomain: domain)
        configuration.databaseURL = setting(databaseURL, "WEFT_DATABASE_URL") ?? configuration.databaseURL
        configuration.host = address.host
        configuration.port = address.port
        if let lifetime { configuration.certificateLifetime = .milliseconds(lifetime.milliseconds) }
        if let propagation { configuration.rootPropagation = .milliseconds(propagation.milliseconds) }
        if let rate { configuration.signRatePerClient = Double(rate) }
        if let limit { configuration.connectionLimits.maximumConnections = limit }
        if let connections { configuration.maximumDatabaseConnections = connections }
        if let names { configuration.serverNames = names }
        if let path = setting(passphraseFile, "WEFT_PASSPHRASE_FILE") {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ValidationError("--passphrase-file: cannot read \(path)")
            }
            let passphrase = text.trimmingCharacters(in: .newlines)
            guard passphrase.count >= 8 else {
                throw ValidationError("--passphrase-file: the passphrase must be at least 8 characters")
            }
            configuration.passphrase = passphrase
        }
        switch (setting(rootCertificate, "WEFT_ROOT_CERTIFICATE"), setting(rootKey, "WEFT_ROOT_KEY")) {
        case (nil, nil): break
        case (let certificatePath?, let keyPath?):
            do {
                configuration.operatorRoot = (
                    try Certificate(pem: try String(contentsOfFile: certificatePath, encoding: .utf8)),
                    try PrivateKey(pem: try String(contentsOfFile: keyPath, encoding: .utf8))
                )
            } catch {
                throw ValidationError("--root-certificate/--root-key: \(error)")
            }
        default:
            throw ValidationError("--root-certificate and --root-key go together")
        }
        do {
            try await CAServer(configuration: configuration, logger: logger).run()
        } catch let error as CAError {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode(78)  // EX_CONFIG: the data directory or database needs the operator
        }
    }
}
