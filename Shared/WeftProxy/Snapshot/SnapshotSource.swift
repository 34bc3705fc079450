public import Logging
public import NIOCore
public import WeftIdentity
public import WeftProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where a proxy's snapshots come from: the registry's discovery API, with a
/// file keeping the last good answer (static stability: a restart while the
/// registry is away starts from it), or the file alone (reread when it changes).
public enum SnapshotSource: Sendable {
    case registry(DiscoveryWatcher.Settings)
    case file(path: String, namespace: NamespaceName)

    /// The snapshot to start on. With a registry, the kept file when there is
    /// one (the watch brings it up to date at once); on a first start there is
    /// none yet, and the registry must answer.
    public func initial(logger: Logger) throws(ProxyStartupError) -> DiscoverySnapshot {
        switch self {
        case .registry(let settings) where !FileManager.default.fileExists(atPath: settings.snapshotFile):
            let snapshot: DiscoverySnapshot
            do {
                snapshot = try DiscoveryWatcher.snapshot(
                    from: try DiscoveryWatcher.query(settings, index: 0, wait: 0).wait())
            } catch {
                throw ProxyStartupError(
                    "no snapshot kept in \(settings.snapshotFile) yet, and the registry at \(settings.client.endpoint) gave none: \(error)"
                )
            }
            DiscoveryWatcher.persist(snapshot, to: settings.snapshotFile, logger: logger)
            return snapshot
        case .registry(let settings):
            return try Self.load(settings.snapshotFile)
        case .file(let path, _):
            return try Self.load(path)
        }
    }

    /// Applies every later snapshot to `loops` until stopped.
    public func watch(loops: ProxyLoops, logger: Logger) -> SnapshotWatcher {
        switch self {
        case .registry(let settings):
            .registry(DiscoveryWatcher(settings, loops: loops, logger: logger))
        case .file(let path, let namespace):
            .file(
                SnapshotFileWatcher(path: path, namespace: namespace, loops: loops, logger: logger))
        }
    }

    private static func load(_ path: String) throws(ProxyStartupError) -> DiscoverySnapshot {
        do {
            return try SnapshotFile.load(path: path)
        } catch {
            throw ProxyStartupError("--snapshot-file: \(error)")
        }
    }
}

/// A running watch of a `SnapshotSource`.
public enum SnapshotWatcher: Sendable {
    case registry(DiscoveryWatcher)
    case file(SnapshotFileWatcher)

    public func stop() {
        switch self {
        case .registry(let watcher): watcher.stop()
        case .file(let watcher): watcher.stop()
        }
    }
}

/// Why a proxy could not start, in words that name the flag or input at fault.
/// Why a proxy cannot start (see `StartupError` in WeftIdentity, where the
/// identity's share of these is made).
public typealias ProxyStartupError = StartupError

extension DiscoverySnapshot {
    /// What a snapshot holds, for the log line that says it was applied.
    public var summary: String {
        var text = "\(upstreams.count) upstream(s), \(inboundIntentions.count) intention(s)"
        if !gatewayRoutes.routes.isEmpty { text += ", \(gatewayRoutes.routes.count) gateway route(s)" }
        return text
    }
}
