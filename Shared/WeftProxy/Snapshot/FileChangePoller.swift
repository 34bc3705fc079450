#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Watches files a proxy reloads while it runs (a snapshot file, TLS
/// certificates): every `interval` it compares each file's size and
/// modification time with what it saw last, and calls `changed` when any moved.
///
/// It runs as a task of its own, not on an event loop: `stat` and the reload
/// that follows are file I/O, and an event loop that carries traffic must not
/// wait on a disk (a slow or network-backed volume would stall every
/// connection on that loop for as long).
public final class FileChangePoller: Sendable {
    private let task: Task<Void, Never>

    /// `paths` are stamped now, so a change made before the first tick is seen.
    public init(paths: [String], interval: Duration, changed: @escaping @Sendable () -> Void) {
        let initial = Self.stamp(paths)
        task = Task.detached {
            var seen = initial
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { return }
                let stamp = Self.stamp(paths)
                guard stamp != seen else { continue }
                seen = stamp
                changed()
            }
        }
    }

    public func stop() {
        task.cancel()
    }

    /// Size and modification time of each file ("-1/0" for one that cannot be read).
    static func stamp(_ paths: [String]) -> [String] {
        paths.map { path in
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            let size = (attributes?[.size] as? Int) ?? (attributes?[.size] as? UInt64).map(Int.init) ?? -1
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(size)/\(modified)"
        }
    }
}
