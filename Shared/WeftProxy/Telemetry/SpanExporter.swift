public import Logging
import NIOConcurrencyHelpers
public import NIOCore
import NIOPosix
import Synchronization
public import WeftService

#if canImport(Glibc)
    import Glibc
#endif

/// Sends a proxy's spans to an OpenTelemetry collector over OTLP/HTTP
/// (protobuf, `POST /v1/traces`).
///
/// Requests never wait for the collector: each event loop writes its spans
/// into a buffer of its own (`SpanBuffer`) and hands it over every second or at
/// 64 KiB; one exporter thread sends what has gathered, every second or as
/// soon as 512 KiB wait. A collector that is
/// down or refuses with 429/502/503/504 is retried with capped exponential
/// backoff (1 s to 30 s) while the spans wait; more than 4 MiB waiting and the
/// oldest are dropped, and counted (`spans_dropped_total`): a missing collector
/// must not become a slow proxy or an unbounded queue.
public final class SpanExporter: Sendable {
    public static let backlogLimit = 4 << 20

    /// Where the collector is and what the proxy says of itself.
    public struct Settings: Sendable {
        /// The collector, `http://host:port`.
        public var endpoint: ControlPlaneClient.Endpoint
        /// The path spans are posted to (OTLP's `/v1/traces` by default).
        public var path: String
        /// The share of traces this proxy starts that are recorded, 0 to 1.
        /// A trace that arrives with a `traceparent` keeps its caller's choice.
        public var sample: Double
        /// Resource attributes: `service.name` and the like.
        public var resource: [(String, String)]

        public init(endpoint: ControlPlaneClient.Endpoint, path: String, sample: Double, resource: [(String, String)]) {
            self.endpoint = endpoint
            self.path = path
            self.sample = sample
            self.resource = resource
        }

        /// `http://host:port` or `http://host:port/path` (default path
        /// `/v1/traces`); https is refused: a collector is local to the node.
        public static func parse(url: String) throws(ControlPlaneError) -> (ControlPlaneClient.Endpoint, String) {
            guard url.hasPrefix("http://") else {
                throw ControlPlaneError(
                    "expected http://host:port[/path], got \(url.prefix(80)) (send spans to a collector on the node; it forwards them over TLS)"
                )
            }
            let rest = url.dropFirst("http://".count)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            let path = rest[slash...]
            let endpoint = try ControlPlaneClient.Endpoint(url: "http://" + rest[..<slash])
            guard path.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "?" && $0 != "#" }) else {
                throw ControlPlaneError("expected a plain path after the port, got \(path.prefix(80))")
            }
            return (endpoint, path.isEmpty || path == "/" ? "/v1/traces" : String(path))
        }
    }

    let sample: Double
    private let settings: Settings
    private let client: ControlPlaneClient
    private let logger: Logger
    private let pending = NIOLockedValueBox(Pending())
    /// 1 when there is something to send (or the exporter stops).
    private let wake = ConditionLock(value: 0)
    private let worker: NIOThreadPool
    private let exportedSpans = Atomic<UInt64>(0)
    private let droppedSpans = Atomic<UInt64>(0)
    private let done = ConditionLock(value: 0)

    private struct Pending {
        var batches: [(buffer: ByteBuffer, spans: Int)] = []
        var bytes = 0
        var stopping = false
    }

    public var exported: UInt64 { exportedSpans.load(ordering: .relaxed) }
    public var dropped: UInt64 { droppedSpans.load(ordering: .relaxed) }

    /// `group` carries the exporter's HTTP calls.
    public init(settings: Settings, group: any EventLoopGroup, logger: Logger) {
        self.settings = settings
        self.sample = min(1, max(0, settings.sample))
        self.client = ControlPlaneClient(endpoint: settings.endpoint, group: group)
        self.logger = logger
        worker = NIOThreadPool(numberOfThreads: 1)
        worker.start()
        worker.submit { [self] _ in
            run()
            done.lock()
            done.unlock(withValue: 1)
        }
    }

    /// Takes a loop's spans; sent in the order given.
    func submit(_ buffer: ByteBuffer, spans: Int) {
        let full = pending.withLockedValue { pending in
            guard !pending.stopping else { return false }
            pending.batches.append((buffer, spans))
            pending.bytes += buffer.readableBytes
            dropOldest(&pending)
            return pending.bytes >= Self.postSize
        }
        // Under load, a post as soon as there is enough for one; otherwise the
        // exporter's one-second tick sends what gathered.
        if full {
            wake.lock()
            wake.unlock(withValue: 1)
        }
    }

    /// What a post carries at most before the tick: few posts under load.
    static let postSize = 512 << 10

    private func dropOldest(_ pending: inout Pending) {
        while pending.bytes > Self.backlogLimit, !pending.batches.isEmpty {
            let oldest = pending.batches.removeFirst()
            pending.bytes -= oldest.buffer.readableBytes
            droppedSpans.add(UInt64(oldest.spans), ordering: .relaxed)
        }
    }

    /// Sends what the loops handed over (they flush first: `ProxyLoops.shutdown`),
    /// trying for at most `deadline`, then stops.
    public func stop(deadline: TimeAmount = .seconds(2)) {
        pending.withLockedValue { $0.stopping = true }
        wake.lock()
        wake.unlock(withValue: 1)
        // Unlocked only when taken: on a timeout (a post still in flight) the
        // lock is not held.
        if done.lock(whenValue: 1, timeoutSeconds: max(0.1, Double(deadline.nanoseconds) / 1e9 + 1)) {
            done.unlock()
        }
        try? worker.syncShutdownGracefully()
    }

    // MARK: The exporter thread

    private func run() {
        var failures = 0
        while true {
            // Backoff after a failure; otherwise a second, or less when a
            // post's worth has gathered.
            let wait = failures == 0 ? 1 : Double(min(30, 1 << min(failures - 1, 5)))
            if wake.lock(whenValue: 1, timeoutSeconds: wait) {
                wake.unlock(withValue: 0)
            }
            let (batches, stopping) = pending.withLockedValue { pending in
                let taken = pending.batches
                pending.batches = []
                pending.bytes = 0
                return (taken, pending.stopping)
            }
            if stopping && failures > 0 {
                // Stopping while the collector fails: one last try, no backoff.
                failures = 0
            }
            guard !batches.isEmpty else {
                if stopping { return }
                continue
            }
            let count = batches.reduce(0) { $0 + $1.spans }
            switch send(batches.map(\.buffer), deadline: stopping ? .seconds(2) : .seconds(5)) {
            case .sent:
                exportedSpans.add(UInt64(count), ordering: .relaxed)
                if failures > 0 {
                    logger.notice("spans reach the collector at \(settings.endpoint)\(settings.path) again")
                }
                failures = 0
            case .refused(let reason):
                // The collector will not take these spans whenever asked.
                droppedSpans.add(UInt64(count), ordering: .relaxed)
                logger.warning("the collector refused \(count) span(s): \(reason); they are dropped")
            case .retry(let reason):
                if failures == 0 {
                    logger.warning(
                        "cannot send spans to the collector at \(settings.endpoint)\(settings.path): \(reason); retrying with backoff"
                    )
                }
                failures += 1
                if stopping {
                    droppedSpans.add(UInt64(count), ordering: .relaxed)
                } else {
                    pending.withLockedValue { pending in
                        pending.batches.insert(contentsOf: batches, at: 0)
                        pending.bytes += batches.reduce(0) { $0 + $1.buffer.readableBytes }
                        dropOldest(&pending)
                    }
                }
            }
            if stopping && pending.withLockedValue({ $0.batches.isEmpty }) { return }
        }
    }

    private enum Outcome {
        case sent
        case refused(String)
        case retry(String)
    }

    private func send(_ spans: [ByteBuffer], deadline: TimeAmount) -> Outcome {
        let body = OTLPEncoding.request(resource: settings.resource, scopeVersion: "1", spans: spans)
        do {
            let response = try client.send(
                .POST, settings.path, headers: [("content-type", "application/x-protobuf")], body: body,
                deadline: deadline
            ).wait()
            switch response.status {
            case 200..<300: return .sent
            case 429, 502, 503, 504: return .retry("HTTP \(response.status)")
            default:
                let text = String(decoding: response.body.prefix(200), as: UTF8.self)
                return .refused("HTTP \(response.status) \(text)")
            }
        } catch {
            return .retry("\(error)")
        }
    }
}

/// One event loop's spans, written as OTLP `ScopeSpans.spans` fields and handed
/// to the exporter every second or at 64 KiB. Only its loop touches it.
public final class SpanBuffer {
    static let flushSize = 64 << 10

    private let exporter: SpanExporter
    private let eventLoop: any EventLoop
    private var buffer: ByteBuffer
    /// One span's fields, before its length is known.
    private var scratch: ByteBuffer
    private var spans = 0
    private var flushScheduled = false

    init(exporter: SpanExporter, eventLoop: any EventLoop) {
        self.exporter = exporter
        self.eventLoop = eventLoop
        self.buffer = ByteBufferAllocator().buffer(capacity: 16 << 10)
        self.scratch = ByteBufferAllocator().buffer(capacity: 1024)
    }

    /// Whether a trace this proxy starts is recorded.
    func samplesNewTrace(_ ids: TraceIDGenerator) -> Bool {
        exporter.sample >= 1 || (exporter.sample > 0 && ids.unit() < exporter.sample)
    }

    /// What one request's span says.
    struct Span {
        var context: TraceContext
        /// The caller's span; 0 when this proxy started the trace.
        var parent: UInt64
        var kind: OTLPEncoding.SpanKind
        var startNanos: UInt64
        var durationNanos: UInt64
        var method: String
        var path: String
        var authority: String
        var status: Int
        var route: String?
        var upstream: String?
        var peer: String?
        var client: String?
        var error: String?
    }

    func append(_ span: Span) {
        Self.encode(span, scratch: &scratch, into: &buffer)
        spans += 1
        if buffer.readableBytes >= Self.flushSize {
            flush()
        } else if !flushScheduled {
            flushScheduled = true
            eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { [self] in
                flushScheduled = false
                flush()
            }
        }
    }

    /// Writes `span` as one `ScopeSpans.spans` field. Static, on `inout`
    /// buffers: the class's stored buffers are claimed once per span, not once
    /// per field written (Swift checks each access to a class property).
    static func encode(_ span: Span, scratch: inout ByteBuffer, into buffer: inout ByteBuffer) {
        scratch.clear()
        scratch.writeID(1, span.context.traceHigh, span.context.traceLow)
        scratch.writeID(2, span.context.spanID)
        if span.parent != 0 { scratch.writeID(4, span.parent) }
        // The name: the method and where the request went (`GET payments`).
        let method = OTLPEncoding.cut(Substring(span.method), limit: 32)
        let target = OTLPEncoding.cut(Substring(span.route ?? span.upstream ?? ""), limit: 128)
        scratch.writeTag(5, .length)
        scratch.writeVarint(UInt64(method.utf8.count + (target.isEmpty ? 0 : 1 + target.utf8.count)))
        scratch.writeSubstring(method)
        if !target.isEmpty {
            scratch.writeStaticString(" ")
            scratch.writeSubstring(target)
        }
        scratch.writeTag(6, .varint)
        scratch.writeVarint(span.kind.rawValue)
        scratch.writeFixed64(7, span.startNanos)
        scratch.writeFixed64(8, span.startNanos &+ span.durationNanos)
        // Attributes, OpenTelemetry's HTTP names where one exists. The query is
        // left out: it may carry what should not leave the mesh.
        scratch.writeAttribute(9, "http.request.method", method)
        let path = span.path.utf8.firstIndex(of: UInt8(ascii: "?")).map { span.path[..<$0] } ?? Substring(span.path)
        scratch.writeAttribute(9, "url.path", OTLPEncoding.cut(path, limit: 1024))
        if !span.authority.isEmpty {
            scratch.writeAttribute(9, "server.address", OTLPEncoding.cut(Substring(span.authority), limit: 256))
        }
        if span.status != 0 { scratch.writeAttribute(9, "http.response.status_code", span.status) }
        func optional(_ key: StaticString, _ value: String?) {
            guard let value else { return }
            scratch.writeAttribute(9, key, OTLPEncoding.cut(Substring(value), limit: 256))
        }
        optional("weft.route", span.route)
        optional("weft.upstream", span.upstream)
        optional("weft.peer", span.peer)
        optional("client.address", span.client)
        optional("error.type", span.error)
        // Status: an error when the exchange failed or answered 5xx; unset
        // otherwise, as OpenTelemetry's HTTP conventions ask.
        if span.error != nil || span.status == 0 || span.status >= 500 {
            let message = OTLPEncoding.cut(Substring(span.error ?? ""), limit: 256)
            let body =
                (message.isEmpty ? 0 : 1 + OTLPEncoding.varintSize(UInt64(message.utf8.count)) + message.utf8.count) + 2
            scratch.writeTag(15, .length)
            scratch.writeVarint(UInt64(body))
            if !message.isEmpty { scratch.writeProtoString(2, message) }
            scratch.writeTag(3, .varint)
            scratch.writeVarint(2)  // STATUS_CODE_ERROR
        }
        buffer.writeTag(2, .length)  // ScopeSpans.spans
        buffer.writeVarint(UInt64(scratch.readableBytes))
        buffer.writeImmutableBuffer(scratch)
    }

    /// Hands the gathered spans to the exporter.
    func flush() {
        guard spans > 0 else { return }
        exporter.submit(buffer, spans: spans)
        buffer = ByteBufferAllocator().buffer(capacity: 16 << 10)
        spans = 0
    }

    /// Now, as nanoseconds since 1970, for a span's start.
    static func wallClockNanos() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}

@available(*, unavailable)
extension SpanBuffer: Sendable {}
