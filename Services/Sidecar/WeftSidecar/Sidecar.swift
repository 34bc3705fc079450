public import Logging
public import NIOCore
public import NIOPosix
import WeftHTTP2
public import WeftProtocol
public import WeftProxy
import WeftService
import WeftTLS

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A running sidecar: the inbound mesh port, the outbound ports, the admin port,
/// and the snapshot they all run on.
///
/// Startup fails, with a message that says which input is wrong, before any port
/// opens: unreadable or mismatched certificate and key, a certificate whose
/// identity is not this service's, an invalid snapshot, a port in use.
public final class Sidecar: Sendable {
    public struct StartupError: Error, CustomStringConvertible {
        public let description: String
    }

    public let configuration: SidecarConfiguration
    public let group: MultiThreadedEventLoopGroup
    public let loops: ProxyLoops
    public let inbound: ProxyListener
    public let outbound: [ProxyListener]
    public let admin: AdminServer?
    private let watcher: ConfigurationWatcher
    private let logger: Logger
    public let identity: SPIFFEID

    private init(
        configuration: SidecarConfiguration, group: MultiThreadedEventLoopGroup, loops: ProxyLoops,
        inbound: ProxyListener, outbound: [ProxyListener], admin: AdminServer?, watcher: ConfigurationWatcher,
        logger: Logger, identity: SPIFFEID
    ) {
        self.configuration = configuration
        self.group = group
        self.loops = loops
        self.inbound = inbound
        self.outbound = outbound
        self.admin = admin
        self.watcher = watcher
        self.logger = logger
        self.identity = identity
    }

    public static func start(_ configuration: SidecarConfiguration, logger: Logger) throws -> Sidecar {
        // Configuration first: nothing listens until every input is known good.
        // With a registry, the snapshot file is where the last good snapshot is
        // kept; on a first start there is none yet, and the registry must answer.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads)
        let discovery: DiscoveryWatcher.Settings?
        let initial: DiscoverySnapshot
        do {
            discovery = try configuration.registry.map { registry in
                DiscoveryWatcher.Settings(
                    client: ControlPlaneClient(endpoint: registry, group: group),
                    tokenFile: configuration.registryTokenFile ?? "", request: try DiscoveryWatcher.request(for: configuration),
                    namespace: configuration.service.namespace, snapshotFile: configuration.snapshotFile)
            }
            if let discovery, !FileManager.default.fileExists(atPath: configuration.snapshotFile) {
                do {
                    initial = try DiscoveryWatcher.snapshot(from: try DiscoveryWatcher.query(discovery, index: 0, wait: 0).wait())
                } catch {
                    throw StartupError(
                        description: "no snapshot kept in \(configuration.snapshotFile) yet, and the registry at \(discovery.client.endpoint) gave none: \(error)")
                }
                DiscoveryWatcher.persist(initial, to: configuration.snapshotFile, logger: logger)
            } else {
                do {
                    initial = try SnapshotFile.load(path: configuration.snapshotFile)
                } catch {
                    throw StartupError(description: "--snapshot-file: \(error)")
                }
            }
        } catch {
            try? group.syncShutdownGracefully()
            if let error = error as? StartupError { throw error }
            throw StartupError(description: "\(error)")
        }
        let trustDomain = initial.defaults.trustDomain
        let identity = try SPIFFEID(
            trustDomain: trustDomain, namespace: configuration.service.namespace,
            service: configuration.service.service)
        let material: MeshMaterial
        let serverTLS: TLSContextProvider
        let clientTLS: TLSContextProvider
        do {
            material = try MeshMaterial.load(configuration, expecting: identity.description)
            serverTLS = TLSContextProvider(try material.context(role: .server, trustDomain: trustDomain))
            clientTLS = TLSContextProvider(try material.context(role: .client, trustDomain: trustDomain))
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        do {
            let application = LocalApplication(
                host: configuration.applicationHost, port: configuration.applicationPort,
                protocolKind: configuration.applicationProtocol)
            let loops = try ProxyLoops(
                group: group, snapshot: ProxySnapshot(initial, namespace: configuration.service.namespace),
                mesh: MeshConnector(tls: clientTLS), application: application)
            let errors = ProxyErrorResponse(proxyName: "weft-sidecar")
            let policy = InboundRequestPolicy(service: configuration.service)
            let inboundLogger = logger
            let inbound = try ProxyListener.bind(
                name: "inbound", host: configuration.inbound.host, port: configuration.inbound.port, group: group
            ) { channel in
                try InboundPipeline.configure(
                    channel, tls: serverTLS, loops: loops, policy: policy, errors: errors
                ) { reason in inboundLogger.warning("inbound \(reason)") }
            }.wait()
            var outbound: [ProxyListener] = []
            for upstream in configuration.upstreams {
                outbound.append(
                    try ProxyListener.bind(
                        name: "upstream \(upstream.name)", host: upstream.host, port: upstream.port, group: group
                    ) { channel in
                        try OutboundPipeline.configure(
                            channel, target: .upstream(upstream.name), loops: loops, errors: errors)
                    }.wait())
            }
            if let proxy = configuration.outboundProxy {
                outbound.append(
                    try ProxyListener.bind(name: "outbound proxy", host: proxy.host, port: proxy.port, group: group) {
                        channel in
                        try OutboundPipeline.configure(channel, target: .byAuthority, loops: loops, errors: errors)
                    }.wait())
            }
            // The registry when there is one, else the file.
            let watcher: ConfigurationWatcher
            if let discovery {
                watcher = .registry(DiscoveryWatcher(discovery, loops: loops, logger: logger))
            } else {
                watcher = .file(
                    SnapshotFileWatcher(
                        path: configuration.snapshotFile, namespace: configuration.service.namespace, loops: loops,
                        logger: logger, eventLoop: group.next()))
            }
            let certificateExpiry = material.chain[0].notAfter
            let admin = try configuration.admin.map { address in
                try AdminServer.start(
                    host: address.host, port: address.port, group: group, loops: loops,
                    certificateExpiry: certificateExpiry
                ).wait()
            }
            return Sidecar(
                configuration: configuration, group: group, loops: loops, inbound: inbound, outbound: outbound,
                admin: admin, watcher: watcher, logger: logger, identity: identity)
        } catch {
            try? group.syncShutdownGracefully()
            if let error = error as? StartupError { throw error }
            throw StartupError(description: "cannot start: \(error)")
        }
    }

    /// Graceful shutdown: stop accepting on every port, let in-flight requests
    /// finish (HTTP/2 GOAWAY to callers, HTTP/1.1 after the current response),
    /// close what remains at `deadline`, then stop the loops.
    public func shutdown(deadline: TimeAmount) {
        watcher.stop()
        let listeners = [inbound] + outbound
        let drained = listeners.map { $0.shutdown(deadline: deadline) }
        _ = try? EventLoopFuture.andAllComplete(drained, on: group.next()).wait()
        _ = try? loops.drain().wait()
        try? admin?.close()
        try? group.syncShutdownGracefully()
    }
}

/// The sidecar's certificate, key and trust bundle, read and checked together.
struct MeshMaterial {
    let chain: [Certificate]
    let key: PrivateKey
    let bundle: [Certificate]
    let revoked: Set<String>

    static func load(_ configuration: SidecarConfiguration, expecting identity: String) throws -> MeshMaterial {
        func read(_ path: String, _ flag: String) throws -> String {
            do {
                return try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw Sidecar.StartupError(description: "\(flag): cannot read \(path)")
            }
        }
        let chain: [Certificate]
        let key: PrivateKey
        let bundle: [Certificate]
        do {
            chain = try Certificate.chain(pem: read(configuration.certificateFile, "--certificate"))
        } catch let error as Sidecar.StartupError {
            throw error
        } catch {
            throw Sidecar.StartupError(description: "--certificate: \(error)")
        }
        do {
            key = try PrivateKey(pem: read(configuration.keyFile, "--key"))
        } catch let error as Sidecar.StartupError {
            throw error
        } catch {
            throw Sidecar.StartupError(description: "--key: \(error)")
        }
        do {
            bundle = try Certificate.chain(pem: read(configuration.bundleFile, "--trust-bundle"))
        } catch let error as Sidecar.StartupError {
            throw error
        } catch {
            throw Sidecar.StartupError(description: "--trust-bundle: \(error)")
        }
        guard let leaf = chain.first else {
            throw Sidecar.StartupError(description: "--certificate: the file holds no certificate")
        }
        guard bundle.count > 0 else {
            throw Sidecar.StartupError(description: "--trust-bundle: the file holds no certificate")
        }
        let identities = leaf.uriSubjectAlternativeNames.filter { $0.hasPrefix("spiffe://") }
        guard identities == [identity] else {
            throw Sidecar.StartupError(
                description:
                    "--certificate: it is for \(identities.first ?? "no SPIFFE ID"), but this sidecar is \(identity)")
        }
        guard (try? leaf.publicKeyPEM()) == (try? key.publicKeyPEM()) else {
            throw Sidecar.StartupError(description: "--key: it is not the key of the certificate's public key")
        }
        return MeshMaterial(chain: chain, key: key, bundle: bundle, revoked: configuration.revokedSerials)
    }

    func context(role: TLSConfiguration.Role, trustDomain: String) throws -> TLSContext {
        do {
            return try TLSContext(
                .mesh(
                    role: role, certificateChain: chain, privateKey: key, trustRoots: bundle, revokedSerials: revoked,
                    trustDomain: trustDomain))
        } catch {
            throw Sidecar.StartupError(description: "cannot build the mesh TLS context: \(error)")
        }
    }
}

/// Where a sidecar's snapshots come from.
enum ConfigurationWatcher: Sendable {
    case registry(DiscoveryWatcher)
    case file(SnapshotFileWatcher)

    func stop() {
        switch self {
        case .registry(let watcher): watcher.stop()
        case .file(let watcher): watcher.stop()
        }
    }
}
