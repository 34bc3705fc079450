public import WeftIdentity
public import Logging
public import NIOCore
public import NIOPosix
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
    public var registryTokenFile: String?
    /// `/live`, `/ready`, `/metrics` (and the gateway's route endpoints).
    public var admin: ListenAddress?
    public var threads: Int = 1
    /// How long in-flight requests may take to finish on SIGTERM.
    public var drainTimeout: Int = 10

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
        request: @autoclosure () throws -> DiscoveryRequest, namespace: NamespaceName, group: any EventLoopGroup
    ) throws -> SnapshotSource {
        guard let registry else { return .file(path: snapshotFile, namespace: namespace) }
        return .registry(
            DiscoveryWatcher.Settings(
                client: ControlPlaneClient(endpoint: registry, group: group), tokenFile: registryTokenFile ?? "",
                request: try request(), namespace: namespace, snapshotFile: snapshotFile))
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


