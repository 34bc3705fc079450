import Synchronization
public import WeftProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The replica's in-memory copy of the registry state, and the place blocking
/// queries wait for it to move on.
///
/// `publish` installs a newer state and wakes every waiter whose `index` it
/// passes; an older or equal version is ignored, so states only move forward
/// whatever order loads finish in. Encoded discovery answers are kept per
/// request for the current version: a thousand sidecars asking the same question
/// after one change cost one encoding.
public final class RegistryCache: Sendable {
    struct Waiter {
        var index: UInt64
        /// A discovery query's scope: only a change to it wakes the waiter. Nil
        /// waits for any newer state (a write settling).
        var scope: DiscoveryScope?
        var continuation: CheckedContinuation<RegistryState?, Never>
    }

    struct Inner {
        var state: RegistryState?
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0
        var encoded: [DiscoveryRequest: [UInt8]] = [:]
        /// Each upstream's JSON as it appears in snapshots, kept across versions
        /// until a state changes that service (`StateChanges.services`).
        var upstreams: [ServiceReference: [UInt8]] = [:]
        /// Waiters whose timeout or cancellation came before they were registered.
        var expiredEarly: Set<UInt64> = []
        var closed = false
    }

    private let inner = Mutex(Inner())

    public init() {}

    public var state: RegistryState? { inner.withLock { $0.state } }
    public var version: UInt64? { inner.withLock { $0.state?.version } }
    public var waiterCount: Int { inner.withLock { $0.waiters.count } }

    /// Installs `state` if it is newer than the current one, waking the waiters it passes.
    @discardableResult
    public func publish(_ state: RegistryState) -> Bool {
        let woken: [Waiter]? = inner.withLock { inner in
            if let current = inner.state, current.version >= state.version { return nil }
            // The first state answers everyone who waited for it, whatever their index.
            let first = inner.state == nil
            inner.state = state
            inner.encoded.removeAll(keepingCapacity: true)
            if first || state.changes.everything {
                inner.upstreams.removeAll(keepingCapacity: true)
            } else {
                for service in state.changes.services { inner.upstreams.removeValue(forKey: service) }
            }
            let ready = inner.waiters.filter { _, waiter in
                first
                    || (waiter.index < state.version && (waiter.scope.map { state.changes.affect($0) } ?? true))
            }
            for key in ready.keys { inner.waiters.removeValue(forKey: key) }
            return Array(ready.values)
        }
        guard let woken else { return false }
        for waiter in woken { waiter.continuation.resume(returning: state) }
        return true
    }

    /// Stops waiting for anything: blocked queries answer at once with what is
    /// current (graceful shutdown), and later ones do not block.
    public func close() {
        let (woken, state) = inner.withLock { inner in
            inner.closed = true
            defer { inner.waiters.removeAll() }
            return (Array(inner.waiters.values), inner.state)
        }
        for waiter in woken { waiter.continuation.resume(returning: state) }
    }

    /// The state once its version passes `index` (and, with a `scope`, once a
    /// newer state changes what that scope covers), or the current state when
    /// `timeout` runs out or the task is cancelled; nil only before the first load.
    ///
    /// A state already past `index` answers at once, whatever its scope: the
    /// caller's copy is older than the changes this cache can tell apart.
    public func wait(above index: UInt64, scope: DiscoveryScope? = nil, timeout: Duration) async -> RegistryState? {
        if let ready = inner.withLock({ inner -> RegistryState?? in
            guard let state = inner.state else { return inner.closed ? .some(nil) : nil }
            return state.version > index || inner.closed ? .some(state) : nil
        }) {
            return ready
        }
        let id = inner.withLock { inner in
            inner.nextWaiter += 1
            return inner.nextWaiter
        }
        let timer = Task {
            // Cancelled when the wait ended otherwise: then it must not expire anything.
            do { try await Task.sleep(for: timeout) } catch { return }
            self.expire(id)
        }
        defer {
            timer.cancel()
            inner.withLock { _ = $0.expiredEarly.remove(id) }
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate: RegistryState?? = inner.withLock { inner in
                    // Re-check under the lock: a publish, the timer or a cancellation
                    // may have come first.
                    if let state = inner.state, state.version > index || inner.closed { return .some(state) }
                    if inner.closed || inner.expiredEarly.remove(id) != nil { return .some(inner.state) }
                    inner.waiters[id] = Waiter(index: index, scope: scope, continuation: continuation)
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            self.expire(id)
        }
    }

    private func expire(_ id: UInt64) {
        let (waiter, state) = inner.withLock { inner in
            let waiter = inner.waiters.removeValue(forKey: id)
            if waiter == nil { inner.expiredEarly.insert(id) }
            return (waiter, inner.state)
        }
        waiter?.continuation.resume(returning: state)
    }

    /// Waits (up to `timeout`) until the cache holds `version` or later: a write
    /// answers only once this replica serves what it wrote, so a client reading
    /// right after its write sees it.
    public func waitUntil(atLeast version: UInt64, timeout: Duration) async {
        if let current = self.version, current >= version { return }
        _ = await wait(above: version - 1, timeout: timeout)
    }

    /// The discovery answer for `request` at `state`'s version, encoded once per
    /// version and request, and assembled from upstreams encoded once per change
    /// of their service: after a change to one service, a thousand sidecars of a
    /// hundred services cost one upstream encoding and a hundred splices, not a
    /// hundred full encodings (JSON encoding was half the registry's CPU under
    /// the simulated mesh before).
    public func encodedSnapshot(_ request: DiscoveryRequest, at state: RegistryState) throws -> [UInt8] {
        if let cached = inner.withLock({ $0.state?.version == state.version ? $0.encoded[request] : nil }) {
            return cached
        }
        let services = state.reachedServices(for: request).prefix(ProtocolLimits.upstreamsPerRequest)
        var parts: [[UInt8]] = []
        parts.reserveCapacity(services.count)
        for service in services {
            if let part = inner.withLock({ $0.state?.version == state.version ? $0.upstreams[service] : nil }) {
                parts.append(part)
                continue
            }
            let part = Array(try WeftJSON.encode(try state.upstream(service)))
            inner.withLock { inner in
                // Only while `state` is current: a publish in between may have
                // dropped this service as changed.
                if inner.state?.version == state.version && inner.upstreams.count < 100_000 {
                    inner.upstreams[service] = part
                }
            }
            parts.append(part)
        }
        let bytes = try Self.splice(
            parts, into: Array(try WeftJSON.encode(try state.snapshot(for: request, upstreams: []))))
        inner.withLock { inner in
            // Bounded: distinct requests are about one per proxy, but a client could invent more.
            if inner.state?.version == state.version && inner.encoded.count < 10_000 { inner.encoded[request] = bytes }
        }
        return bytes
    }

    static let emptyUpstreams = Array(#""upstreams":[]"#.utf8)

    /// Puts encoded upstreams into a snapshot encoded without any. Keys are
    /// sorted and `upstreams` is the top level's last but `version` (a number),
    /// and a quote inside a string is always escaped, so the last
    /// `"upstreams":[]` is the snapshot's own.
    static func splice(_ parts: [[UInt8]], into shell: [UInt8]) throws -> [UInt8] {
        let marker = emptyUpstreams
        var index = shell.count - marker.count
        while index >= 0 && !shell[index..<(index + marker.count)].elementsEqual(marker) { index -= 1 }
        guard index >= 0 else { throw ProtocolError(field: "upstreams", "missing from an encoded snapshot") }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(shell.count + parts.reduce(parts.count) { $0 + $1.count })
        bytes.append(contentsOf: shell[..<(index + marker.count - 1)])
        for (position, part) in parts.enumerated() {
            if position > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: part)
        }
        bytes.append(contentsOf: shell[(index + marker.count - 1)...])
        return bytes
    }
}
