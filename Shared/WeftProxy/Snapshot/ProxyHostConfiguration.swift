public import Logging
public import NIOCore
public import NIOPosix
public import WeftIdentity
public import WeftProtocol
public import WeftService

/// What every Weft proxy process (a sidecar, a gateway) is started with besides
/// its listeners: its mesh certificate and trust bundle, where its snapshots come
/// from, its admin port, threads and drain time. Built from the flags that
/// `WeftProxyCommand.ProxyHostOptions` declares once for both executables.
public struct ProxyHostConfiguration: Sendable {
    /// PEM files: the proxy's chain (leaf first), its key, the trust bundle.
    public var certificateFile: String
    public var keyFile: String
    public var bundleFile: String
    /// Serials (hex) refused anywhere in a peer's chain.
    public var revokedSerials: Set<String> = []
    /// weft-ca instead of the files: the proxy gets and renews its certificate
    /// itself.
    public var authority: AuthorityEnrollment?
    /// A discovery snapshot in a file (the registry's answer, as JSON): with a
    /// registry, where the last good one is kept; without, the configuration
    /// itself, reread when it changes.
    public var snapshotFile: String
    /// The registry whose discovery API the proxy watches, and the file holding
    /// its credential.
    public var registry: ControlPlaneClient.Endpoint?
    /// Over http://; over https:// the proxy's certificate identifies it.
    public var registryTokenFile: String?
    /// The mesh's trust domain; by default the snapshot's (with an https://
    /// registry, which the proxy reaches with its certificate before it has a
    /// snapshot, `weft.local`).
    public var trustDomain: String?
    /// `/live`, `/ready`, `/metrics` (and the gateway's route endpoints).
    public var admin: ListenAddress?
    public var threads: Int = 1
    /// How long in-flight requests may take to finish on SIGTERM.
    public var drainTimeout: Int = 10
    /// Where the access log goes (`-`: standard output); nil: none.
    public var accessLog: String?
    /// The share of requests the access log records (1: all).
    public var accessLogSample: Double = 1

    /// The OpenTelemetry collector spans go to (OTLP/HTTP), and its path; nil:
    /// no spans are recorded.
    public var otlp: (endpoint: ControlPlaneClient.Endpoint, path: String)?
    /// The share of traces this proxy starts that are recorded (1: all).
    public var traceSample: Double = 1

    /// Opens the access log, if one is asked for, for `proxyName`.
    public func openAccessLog(proxyName: String) throws -> AccessLog? {
        try accessLog.map { try AccessLog(path: $0, proxyName: proxyName, sample: accessLogSample) }
    }

    /// Starts the span exporter, if a collector is configured: the spans say
    /// they come from `service` (its name is `service.name`, what tracing UIs
    /// list), by `proxyName`.
    public func startTracer(
        proxyName: String, service: ServiceReference, instance: String?, group: any EventLoopGroup, logger: Logger
    ) -> SpanExporter? {
        guard let otlp else { return nil }
        var resource = [
            ("service.name", service.service.rawValue), ("service.namespace", service.namespace.rawValue),
            ("weft.proxy", proxyName), ("telemetry.sdk.name", "weft"), ("telemetry.sdk.language", "swift"),
        ]
        if let instance { resource.append(("service.instance.id", instance)) }
        return SpanExporter(
            settings: SpanExporter.Settings(
                endpoint: otlp.endpoint, path: otlp.path, sample: traceSample, resource: resource),
            group: group, logger: logger)
    }

    public init(
        certificateFile: String, keyFile: String, bundleFile: String, snapshotFile: String,
        admin: ListenAddress? = nil
    ) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.bundleFile = bundleFile
        self.snapshotFile = snapshotFile
        self.admin = admin
    }

    /// Where snapshots come from: the registry, asked `request`, when one is
    /// configured; else the file.
    public func snapshotSource(
        request: @autoclosure () throws -> DiscoveryRequest, namespace: NamespaceName, group: any EventLoopGroup,
        workload: WorkloadIdentity? = nil
    ) throws -> SnapshotSource {
        guard registry != nil else { return .file(path: snapshotFile, namespace: namespace) }
        return .registry(
            DiscoveryWatcher.Settings(
                client: registryClient(group: group, workload: workload), tokenFile: registryTokenFile ?? "",
                request: try request(), namespace: namespace, snapshotFile: snapshotFile))
    }

    /// Whether the registry is reached over mutual TLS, so the identity must
    /// come before the first snapshot.
    public var registryNeedsIdentity: Bool { registry?.usesTLS == true }

    /// A client for the registry: plain HTTP, or mutual TLS presenting the
    /// proxy's current certificate and requiring the registry's identity.
    public func registryClient(group: any EventLoopGroup, workload: WorkloadIdentity?) -> ControlPlaneClient {
        guard let registry else { preconditionFailure("no registry configured") }
        if registry.usesTLS, let workload {
            return workload.controlPlaneClient(
                endpoint: registry, group: group,
                peer: WorkloadIdentity.registryIdentity(trustDomain: workload.trustDomain))
        }
        return ControlPlaneClient(endpoint: registry, group: group)
    }

    /// Runs `start` on a new event loop group of `threads` loops. If it fails,
    /// the group is shut down and the failure is reported as a startup error
    /// (its own words when it is one already): nothing is left running.
    public func startingGroup<T>(_ start: (MultiThreadedEventLoopGroup) throws -> T) throws(ProxyStartupError) -> T {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        do {
            return try start(group)
        } catch {
            try? group.syncShutdownGracefully()
            if let error = error as? ProxyStartupError { throw error }
            throw ProxyStartupError("cannot start: \(error)")
        }
    }

    /// What a proxy starts from: its snapshot source, the first snapshot, its
    /// identity and its certificate, in the order the configuration needs. With
    /// an https:// registry the certificate comes first (it is what the registry
    /// knows the proxy by), in `--trust-domain`; otherwise the snapshot comes
    /// first and names the trust domain. Either way the two must agree.
    public func startingPoint(
        request: @autoclosure () throws -> DiscoveryRequest, service: ServiceReference, group: any EventLoopGroup,
        logger: Logger
    ) throws -> (source: SnapshotSource, initial: DiscoverySnapshot, identity: SPIFFEID, workload: WorkloadIdentity) {
        let namespace = service.namespace
        if registryNeedsIdentity {
            let identity = try SPIFFEID(
                trustDomain: trustDomain ?? "weft.local", namespace: namespace, service: service.service)
            let workload = try workloadIdentity(identity: identity, group: group, logger: logger)
            let source = try snapshotSource(
                request: try request(), namespace: namespace, group: group, workload: workload)
            let initial = try source.initial(logger: logger)
            try checkTrustDomain(initial, identity)
            return (source, initial, identity, workload)
        }
        let source = try snapshotSource(request: try request(), namespace: namespace, group: group)
        let initial = try source.initial(logger: logger)
        let identity = try SPIFFEID(
            trustDomain: trustDomain ?? initial.defaults.trustDomain, namespace: namespace, service: service.service)
        try checkTrustDomain(initial, identity)
        return (source, initial, identity, try workloadIdentity(identity: identity, group: group, logger: logger))
    }

    private func checkTrustDomain(_ snapshot: DiscoverySnapshot, _ identity: SPIFFEID) throws(ProxyStartupError) {
        guard snapshot.defaults.trustDomain == identity.trustDomain else {
            throw ProxyStartupError(
                "--trust-domain is \(identity.trustDomain), but the mesh's snapshot says \(snapshot.defaults.trustDomain)"
            )
        }
    }

    /// Where the mesh identity comes from: weft-ca when configured, else the files.
    public var identitySource: IdentitySource {
        if let authority { return .authority(authority) }
        return .files(certificate: certificateFile, key: keyFile, bundle: bundleFile, revoked: revokedSerials)
    }

    /// The mesh identity, obtained (and checked to be `identity`'s) before any
    /// port opens; `start()` it once the proxy runs.
    public func workloadIdentity(identity: SPIFFEID, group: any EventLoopGroup, logger: Logger)
        throws(ProxyStartupError) -> WorkloadIdentity
    {
        try WorkloadIdentity.obtain(identitySource, identity: identity, group: group, logger: logger)
    }
}
