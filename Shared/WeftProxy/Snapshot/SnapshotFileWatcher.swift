public import Logging
import NIOConcurrencyHelpers
public import NIOCore
public import WeftProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Rereads the snapshot file when it changes (checked every second, by size and
/// modification time) and applies it to every event loop. A file that does not
/// parse or validate is refused with the reason logged, and the last good
/// snapshot stays: a bad edit never takes the proxy down.
public final class SnapshotFileWatcher: Sendable {
    private let task: NIOLockedValueBox<RepeatedTask?>

    public init(path: String, namespace: NamespaceName, loops: ProxyLoops, logger: Logger, eventLoop: any EventLoop) {
        let seen = NIOLockedValueBox(Self.stamp(path))
        task = NIOLockedValueBox(nil)
        let repeated = eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            let stamp = Self.stamp(path)
            guard stamp != seen.withLockedValue({ $0 }) else { return }
            seen.withLockedValue { $0 = stamp }
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
        task.withLockedValue { $0 = repeated }
    }

    static func stamp(_ path: String) -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes?[.size] as? Int) ?? (attributes?[.size] as? UInt64).map(Int.init) ?? -1
        let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return "\(size)/\(modified)"
    }

    public func stop() {
        task.withLockedValue { $0?.cancel() }
    }
}
