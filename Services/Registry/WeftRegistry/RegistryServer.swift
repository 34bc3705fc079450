import Hummingbird
import HummingbirdCore
public import Logging
import NIOCore
import ServiceLifecycle
public import WeftAPIServer
public import WeftIdentity
import WeftPostgres
import WeftService

/// Settings of one registry replica. `weft-registry` fills these from flags and
/// `WEFT_*` environment variables; tests fill them directly.
public struct RegistryConfiguration: Sendable {
    /// libpq connection URL. The default reaches a local PostgreSQL over its
    /// Unix socket, database `weft`.
    public var databaseURL = "postgresql:///weft"
    public var host = "127.0.0.1"
    /// 0 picks a free port (reported through `onListening`).
    public var port = 8500
    /// The bearer token for admin calls.
    public var adminToken: String
    /// How long an instance whose TTL ran out stays listed (critical, receiving
    /// no traffic) before it is removed.
    public var deregisterAfter: Duration = .seconds(120)
    public var reapInterval: Duration = .seconds(1)
    public var maximumDatabaseConnections = 10
    /// How long a stored credential digest is trusted before it is looked up again.
    public var credentialCacheLifetime: Duration = .seconds(30)
    /// The mesh listener: the same API over mutual TLS, where a workload is
    /// known by its certificate (its SPIFFE ID names its service) instead of a
    /// credential. Needs `meshIdentity`, the registry's own certificate.
    /// Open connections per listener and the time a request head may take.
    public var connectionLimits = ConnectionLimits()
    public var meshHost = "0.0.0.0"
    public var meshPort: Int?
    public var meshIdentity: WorkloadIdentity?

    public init(adminToken: String) {
        self.adminToken = adminToken
    }
}

/// One registry replica: migrates the schema, then runs the HTTP API, the
/// change follower, the instance batcher (heartbeats, registrations) and the
/// reaper in one `ServiceGroup`.
///
/// Shutdown order matters and is the reverse of the group's list: first the
/// cache closes (blocked discovery queries answer at once, so draining does not
/// wait minutes for them), then the HTTP server stops accepting and finishes
/// what is in flight, then the batcher commits the writes it holds, and last
/// the pool closes.
public struct RegistryServer: Sendable {
    public let configuration: RegistryConfiguration
    public let logger: Logger

    public init(configuration: RegistryConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until SIGTERM/SIGINT (when `handleSignals`) or until the task is
    /// cancelled, either of which shuts down gracefully. `onListening` receives
    /// the bound port.
    public func run(
        handleSignals: Bool = true,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        var poolConfiguration = PostgresPool.Configuration(url: configuration.databaseURL)
        poolConfiguration.maximumConnections = configuration.maximumDatabaseConnections
        let pool = PostgresPool(poolConfiguration)
        do {
            try await RegistrySchema.migrator.migrateWhenReachable(pool, logger: logger)
            try await serve(pool, handleSignals: handleSignals, onListening: onListening)
        } catch {
            await pool.shutdown()
            throw error
        }
        await pool.shutdown()
    }

    private func serve(
        _ pool: PostgresPool, handleSignals: Bool, onListening: @escaping @Sendable (Int) async -> Void
    ) async throws {
        let store = PostgresRegistryStore(pool: pool)
        let cache = RegistryCache()
        let metrics = RegistryMetrics()
        let listener = try PostgresListener(
            PostgresListener.Configuration(url: configuration.databaseURL, channels: [RegistrySchema.channel]))
        let follower = ChangeFollower.registry(store: store, cache: cache, listener: listener, logger: logger)
        let batcher = InstanceBatcher(store: store, logger: logger)
        let reaper = InstanceReaper(
            store: store, interval: configuration.reapInterval, grace: configuration.deregisterAfter, logger: logger,
            onChange: { follower.requestReload() })
        let api = RegistryAPI(
            store: store, cache: cache,
            authenticator: Authenticator(
                adminToken: configuration.adminToken, store: store,
                cacheLifetime: configuration.credentialCacheLifetime),
            batcher: batcher, metrics: metrics, requestReload: { follower.requestReload() }, logger: logger)
        let logger = self.logger
        let host = configuration.host
        let limits = configuration.connectionLimits
        // Idle connections close after 6 minutes: longer than the longest
        // discovery wait (5 minutes), so a long-poll is never cut.
        let idle = HTTP1Channel.Configuration(idleTimeout: .seconds(360))
        let application = Application(
            responder: api,
            server: HTTPServerBuilder { responder in
                GuardedServerChannel(
                    HTTP1Channel(responder: responder, configuration: idle), limits: limits, logger: logger)
            },
            configuration: ApplicationConfiguration(
                address: .hostname(host, port: configuration.port), serverName: nil,
                backlog: SystemLimits.listenBacklog),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("listening", metadata: ["address": "\(host):\(port)"])
                await onListening(port)
            },
            logger: logger)
        // Shut down in reverse order: the follower first, which answers
        // blocked discovery queries, so that the listeners' drains do not wait
        // out their long-polls.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: reaper),
            .init(service: batcher),
            .init(service: application),
        ]
        if let meshPort = configuration.meshPort, let identity = configuration.meshIdentity {
            // The mesh listener: TLS 1.3, client certificates required and
            // verified against the CA's bundle (renewed and re-polled at runtime,
            // taken by each new connection), ALPN http/1.1.
            let meshHost = configuration.meshHost
            let contexts = identity.server
            services.append(
                .init(
                    service: Application(
                        responder: api,
                        server: HTTPServerBuilder { responder in
                            TLSServerChannel(
                                GuardedServerChannel(
                                    HTTP1Channel(responder: responder, configuration: idle), limits: limits,
                                    logger: logger),
                                contexts: contexts)
                        },
                        configuration: ApplicationConfiguration(
                            address: .hostname(meshHost, port: meshPort), serverName: nil,
                            backlog: SystemLimits.listenBacklog),
                        onServerRunning: { channel in
                            let port = channel.localAddress?.port ?? 0
                            logger.info(
                                "listening (mutual TLS)",
                                metadata: ["address": "\(meshHost):\(port)", "identity": "\(identity.identity)"])
                        },
                        logger: logger)))
        }
        services.append(.init(service: follower))
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
                logger: logger))
        // Cancelling the caller (tests, embedding) shuts down gracefully too, the
        // same way as SIGTERM: the group runs in its own task so that cancellation
        // reaches it as a shutdown request rather than tearing every service down.
        let running = Task { try await group.run() }
        try await withTaskCancellationHandler {
            try await running.value
        } onCancel: {
            Task { await group.triggerGracefulShutdown() }
        }
        logger.info("stopped")
    }
}
