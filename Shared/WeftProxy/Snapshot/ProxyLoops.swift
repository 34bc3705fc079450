import NIOConcurrencyHelpers
public import NIOCore
public import NIOPosix
import WeftHTTP2
import WeftProtocol

/// Every event loop's `ProxyLoop`, and how a new snapshot reaches them: `apply`
/// hands the same immutable snapshot to each loop on that loop, so a loop never
/// sees half a configuration, and requests already dispatched finish on what they
/// started with. Reading a loop's state costs a dictionary lookup, no lock.
public final class ProxyLoops: Sendable {
    private let loops: [ObjectIdentifier: NIOLoopBound<ProxyLoop>]
    private let latest: NIOLockedValueBox<ProxySnapshot>
    /// The access log every loop writes to, if the proxy keeps one.
    public let accessLog: AccessLog?
    /// Where every loop's spans go, if the proxy exports them.
    public let tracer: SpanExporter?

    public init(
        group: any EventLoopGroup, snapshot: ProxySnapshot, mesh: MeshConnector,
        poolConfiguration: HTTP2ConnectionPool.Configuration = HTTP2ConnectionPool.Configuration(),
        application: LocalApplication?, locality: Locality = Locality(), accessLog: AccessLog? = nil,
        tracer: SpanExporter? = nil
    ) throws {
        self.accessLog = accessLog
        self.tracer = tracer
        var loops: [ObjectIdentifier: NIOLoopBound<ProxyLoop>] = [:]
        let all = Array(group.makeIterator())
        let rateLimiters = RateLimiters()
        for eventLoop in all {
            let state = try eventLoop.submit {
                NIOLoopBound(
                    ProxyLoop(
                        eventLoop: eventLoop, snapshot: snapshot, mesh: mesh, poolConfiguration: poolConfiguration,
                        application: application, locality: locality, rateLimiters: rateLimiters,
                        accessLog: accessLog, tracer: tracer),
                    eventLoop: eventLoop)
            }.wait()
            loops[ObjectIdentifier(eventLoop)] = state
        }
        self.loops = loops
        self.latest = NIOLockedValueBox(snapshot)
    }

    /// The state of `eventLoop`; call on that loop.
    public func loop(_ eventLoop: any EventLoop) -> ProxyLoop {
        guard let state = loops[ObjectIdentifier(eventLoop)] else {
            preconditionFailure("a channel on an event loop outside the proxy's group")
        }
        return state.value
    }

    /// The snapshot most recently applied.
    public var snapshot: ProxySnapshot { latest.withLockedValue { $0 } }

    /// When (monotonic) the registry last answered a discovery query, with a
    /// change or with "nothing changed"; nil until discovery first answers
    /// (or when the proxy runs from a snapshot file). A quiet mesh changes
    /// nothing for hours, so the snapshot's own age says nothing about whether
    /// this proxy still hears from the registry; this does.
    private let lastContact = NIOLockedValueBox<NIODeadline?>(nil)

    /// Notes that the registry answered (see `secondsSinceContact`).
    public func heardFromRegistry() {
        lastContact.withLockedValue { $0 = .now() }
    }

    /// Whole seconds since the registry last answered; nil if it never has.
    public var secondsSinceContact: Int64? {
        lastContact.withLockedValue { contact in
            contact.map { (NIODeadline.now() - $0).nanoseconds / 1_000_000_000 }
        }
    }

    /// Swaps `snapshot` in on every loop.
    public func apply(_ snapshot: ProxySnapshot) {
        latest.withLockedValue { $0 = snapshot }
        for state in loops.values {
            state.eventLoop.execute { state.value.apply(snapshot) }
        }
    }

    /// Drains every loop's pools (shutdown).
    public func drain() -> EventLoopFuture<Void> {
        let futures = loops.values.map { state in state.eventLoop.submit { state.value.drain() } }
        return EventLoopFuture.andAllComplete(futures, on: futures[0].eventLoop)
    }

    /// Every loop's view of the upstreams' endpoints, merged: requests in
    /// flight summed, the highest latency estimate, the longest ejection (each
    /// loop balances and ejects on its own).
    public func endpoints() -> EventLoopFuture<[EndpointReport]> {
        let futures = loops.values.map { state in
            state.eventLoop.submit { state.value.endpointReport(now: .now()) }
        }
        return EventLoopFuture.whenAllSucceed(futures, on: futures[0].eventLoop).map { parts in
            var merged: [String: EndpointReport] = [:]
            for report in parts.joined() {
                let key = report.upstream + " " + report.endpoint
                guard var existing = merged[key] else {
                    merged[key] = report
                    continue
                }
                existing.inFlight += report.inFlight
                existing.latencyMilliseconds = [existing.latencyMilliseconds, report.latencyMilliseconds]
                    .compactMap { $0 }.max()
                existing.consecutiveFailures = max(existing.consecutiveFailures, report.consecutiveFailures)
                existing.ejectedForMilliseconds = max(existing.ejectedForMilliseconds, report.ejectedForMilliseconds)
                existing.ejections = max(existing.ejections, report.ejections)
                existing.warming = existing.warming || report.warming
                merged[key] = existing
            }
            return merged.values.sorted { ($0.upstream, $0.endpoint) < ($1.upstream, $1.endpoint) }
        }
    }

    /// The counters of every loop, summed.
    public func metrics() -> EventLoopFuture<ProxyMetrics.Totals> {
        let futures = loops.values.map { state in state.eventLoop.submit { state.value.metrics.snapshot() } }
        return EventLoopFuture.whenAllSucceed(futures, on: futures[0].eventLoop).map { ProxyMetrics.Totals.merged($0) }
    }
}

extension ProxyLoops {
    /// A proxy's graceful shutdown: stop watching for snapshots, stop accepting
    /// on every listener and let in-flight requests finish (HTTP/2 GOAWAY,
    /// HTTP/1.1 after the current response), close what remains at `deadline`,
    /// drain the pools, close the admin port, stop the loops.
    public func shutdown(
        listeners: [ProxyListener], watcher: SnapshotWatcher, admin: AdminServer?,
        group: MultiThreadedEventLoopGroup, deadline: TimeAmount
    ) {
        watcher.stop()
        let drained = listeners.map { $0.shutdown(deadline: deadline) }
        _ = try? EventLoopFuture.andAllComplete(drained, on: group.next()).wait()
        _ = try? drain().wait()
        // The access log's last lines, written before the file closes, and
        // the last spans, sent while the loops still run the exporter's call.
        let flushed = loops.values.map { state in
            state.eventLoop.submit {
                state.value.accessLog?.flush()
                state.value.spans?.flush()
            }
        }
        _ = try? EventLoopFuture.andAllComplete(flushed, on: group.next()).wait()
        accessLog?.stop()
        tracer?.stop()
        try? admin?.close()
        try? group.syncShutdownGracefully()
    }
}
