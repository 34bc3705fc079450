public import Logging
public import WeftProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Rereads the snapshot file when it changes (checked every second, by size and
/// modification time, off the event loops: see `FileChangePoller`) and applies
/// it to every event loop. A file that does not parse or validate is refused
/// with the reason logged, and the last good snapshot stays: a bad edit never
/// takes the proxy down.
public final class SnapshotFileWatcher: Sendable {
    private let poller: FileChangePoller

    public init(path: String, namespace: NamespaceName, loops: ProxyLoops, logger: Logger) {
        poller = FileChangePoller(paths: [path], interval: .seconds(1)) {
            do {
                let snapshot = try SnapshotFile.load(path: path)
                loops.apply(ProxySnapshot(snapshot, namespace: namespace))
                logger.info(
                    "applied snapshot version \(snapshot.version): \(snapshot.summary)"
                )
            } catch {
                logger.error("refused the changed snapshot file, keeping version \(loops.snapshot.version): \(error)")
            }
        }
    }

    public func stop() {
        poller.stop()
    }
}
