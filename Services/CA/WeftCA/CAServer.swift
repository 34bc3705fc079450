import Hummingbird
import HummingbirdCore
public import Logging
import NIOCore
import ServiceLifecycle
public import WeftAPIServer
import WeftPostgres
import WeftService
public import WeftTLS

/// Settings of one CA replica. `weft-ca` fills these from flags and `WEFT_*`
/// environment variables; tests fill them directly.
public struct CAConfiguration: Sendable {
    /// libpq connection URL (the ledger, join tokens, roots' states).
    public var databaseURL = "postgresql:///weft"
    public var host = "127.0.0.1"
    /// 0 picks a free port (reported through `onListening`).
    public var port = 8600
    /// Open connections and the time a request head may take.
    public var connectionLimits = ConnectionLimits()
    /// The bearer token for admin calls.
    public var adminToken: String
    /// Where the authorities' keys and certificates live (0700).
    public var dataDirectory: String
    public var trustDomain: String
    /// Encrypts the authorities' keys at rest when set.
    public var passphrase: String?
    /// An operator's root to create intermediates under, instead of self-signed roots.
    public var operatorRoot: (certificate: Certificate, key: PrivateKey)?
    /// Lifetime of workload certificates.
    public var certificateLifetime: Duration = .seconds(24 * 3600)
    /// How long a new root must be in the trust bundle before it may sign:
    /// proxies poll the bundle, and must trust a root before meeting its leaves.
    public var rootPropagation: Duration = .seconds(300)
    /// Names (DNS names or IP addresses) clients use to reach the CA; its
    /// serving certificate carries them.
    public var serverNames: [String] = ["localhost", "127.0.0.1", "::1"]
    /// Signing requests per second per client address (and twice that at once).
    public var signRatePerClient: Double = 200
    public var maximumDatabaseConnections = 10
    /// How often the replica re-reads its state without a notification.
    public var checkInterval: Duration = .seconds(5)

    public init(adminToken: String, dataDirectory: String, trustDomain: String) {
        self.adminToken = adminToken
        self.dataDirectory = dataDirectory
        self.trustDomain = trustDomain
    }
}

/// One CA replica: opens (or creates) its authorities on disk, migrates the
/// schema, records the authorities in PostgreSQL, then serves the API over TLS
/// while following the other replicas' changes and group-committing renewals.
///
/// Shutdown (SIGTERM/SIGINT or task cancellation) stops accepting, finishes the
/// calls in flight, commits the queued ledger rows, and closes the pool.
public struct CAServer: Sendable {
    public let configuration: CAConfiguration
    public let logger: Logger

    public init(configuration: CAConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run(
        handleSignals: Bool = true, onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        var storeConfiguration = AuthorityStore.Configuration(
            directory: configuration.dataDirectory, trustDomain: configuration.trustDomain)
        storeConfiguration.passphrase = configuration.passphrase
        storeConfiguration.operatorRoot = configuration.operatorRoot
        let authorityStore = try AuthorityStore.open(storeConfiguration, now: CAAuthorities.now())
        logger.info(
            "authorities loaded",
            metadata: [
                "directory": "\(configuration.dataDirectory)",
                "generations": "\(authorityStore.authorities.map(\.generation))",
                // What proxies pin with --ca-fingerprint instead of copying the bundle.
                "anchors":
                    "\(Set(authorityStore.authorities.map { "sha256:" + $0.anchor.sha256Fingerprint }).sorted())",
            ])

        var poolConfiguration = PostgresPool.Configuration(url: configuration.databaseURL)
        poolConfiguration.maximumConnections = configuration.maximumDatabaseConnections
        let pool = PostgresPool(poolConfiguration)
        do {
            try await CASchema.migrator.migrateWhenReachable(pool, logger: logger)
            let store = CAStore(pool: pool)
            try await store.adopt(authorityStore.authorities)
            let authorities = try CAAuthorities(
                configuration: configuration, store: authorityStore, snapshot: try await store.load())
            authorities.writeBundleFile(logger: logger)
            try await serve(store, authorities, handleSignals: handleSignals, onListening: onListening)
        } catch {
            await pool.shutdown()
            throw error
        }
        await pool.shutdown()
    }

    private func serve(
        _ store: CAStore, _ authorities: CAAuthorities, handleSignals: Bool,
        onListening: @escaping @Sendable (Int) async -> Void
    ) async throws {
        let listener = try PostgresListener(
            PostgresListener.Configuration(url: configuration.databaseURL, channels: [CASchema.channel]))
        let reloader = CAReloader(store: store, authorities: authorities, logger: logger)
        let follower = ChangeFollower.ca(
            reloader, listener: listener, checkInterval: configuration.checkInterval, logger: logger)
        let ledger = RenewalLedger(store: store, logger: logger)
        let api = CAAPI(
            configuration: configuration, store: store, authorities: authorities, ledger: ledger,
            reloader: reloader,
            limiter: RateLimiter(rate: configuration.signRatePerClient, burst: 2 * configuration.signRatePerClient),
            metrics: CAMetrics(), logger: logger)
        let logger = self.logger
        let host = configuration.host
        let contexts = authorities.contexts
        let limits = configuration.connectionLimits
        let application = Application(
            responder: api,
            server: HTTPServerBuilder { responder in
                TLSServerChannel(
                    GuardedServerChannel(
                        HTTP1Channel(responder: responder, configuration: .init(idleTimeout: .seconds(300))),
                        limits: limits, logger: logger),
                    contexts: contexts)
            },
            configuration: ApplicationConfiguration(
                address: .hostname(host, port: configuration.port), serverName: nil,
                backlog: SystemLimits.listenBacklog),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("listening (TLS)", metadata: ["address": "\(host):\(port)"])
                await onListening(port)
            },
            logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: ledger), .init(service: application), .init(service: follower)],
                gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
                logger: logger))
        let running = Task { try await group.run() }
        try await withTaskCancellationHandler {
            try await running.value
        } onCancel: {
            Task { await group.triggerGracefulShutdown() }
        }
        logger.info("stopped")
    }
}
