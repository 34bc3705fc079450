public import NIOCore
public import NIOHTTP1
import NIOPosix
public import WeftIdentity
import WeftProtocol

/// A proxy's admin port, plain HTTP/1.1 for probes, scrapers and operators:
///
/// - `GET /live`: 200 while the process serves.
/// - `GET /ready`: 200 when the proxy can carry traffic (its listeners are up
///   and its certificate valid); 503 with the reason otherwise.
/// - `GET /certificate`: the mesh certificate's identity, serial, validity and
///   where it comes from (files or weft-ca, with the renewals so far), as JSON.
/// - `GET /metrics`: Prometheus text, the counters of every event loop summed,
///   named `<prefix>_…` (`weft_sidecar`, `weft_gateway`).
/// - whatever `extra` answers (the gateway's route table and explain endpoint).
///
/// Bind it to loopback or a pod-internal address: it is not authenticated.
public final class AdminServer: Sendable {
    let channel: any Channel

    public var port: Int { channel.localAddress?.port ?? 0 }

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Answers admin requests the server itself does not know: nil means 404.
    /// Called on the connection's event loop with the whole request body.
    public typealias Extra = @Sendable (_ head: HTTPRequestHead, _ body: ByteBuffer) -> AdminResponse?

    public static func start(
        host: String, port: Int, group: any EventLoopGroup, loops: ProxyLoops, workload: WorkloadIdentity,
        prefix: String,
        listeners: [ProxyListener] = [], extra: Extra? = nil
    ) -> EventLoopFuture<AdminServer> {
        ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        AdminHandler(
                            loops: loops, workload: workload, prefix: prefix, listeners: listeners, extra: extra))
                }
            }
            .bind(host: host, port: port)
            .map { AdminServer(channel: $0) }
    }

    public func close() throws {
        try channel.close().wait()
    }
}

final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Admin request bodies (an explain query) are small; larger ones get 413.
    static let maximumBodyBytes = 64 * 1024

    private let loops: ProxyLoops
    private let workload: WorkloadIdentity
    private let prefix: String
    private let listeners: [ProxyListener]
    private let extra: AdminServer.Extra?
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var tooLarge = false

    init(
        loops: ProxyLoops, workload: WorkloadIdentity, prefix: String, listeners: [ProxyListener],
        extra: AdminServer.Extra?
    ) {
        self.listeners = listeners
        self.loops = loops
        self.workload = workload
        self.prefix = prefix
        self.extra = extra
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
            tooLarge = false
        case .body(var chunk):
            if body.readableBytes + chunk.readableBytes > Self.maximumBodyBytes {
                tooLarge = true
            } else {
                body.writeBuffer(&chunk)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            if tooLarge {
                respond(context, head, .payloadTooLarge, "request body over \(Self.maximumBodyBytes) bytes\n")
            } else {
                route(head, context: context)
            }
        }
    }

    private func route(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let known = ["/live", "/ready", "/metrics", "/certificate", "/endpoints", "/config"]
        if !known.contains(path), let extra, let answer = extra(head, body) {
            respond(context, head, answer.status, answer.body, extra: [("content-type", answer.contentType)])
            return
        }
        guard head.method == .GET || head.method == .HEAD else {
            respond(context, head, .methodNotAllowed, "only GET\n", extra: [("allow", "GET, HEAD")])
            return
        }
        switch path {
        case "/live":
            respond(context, head, .ok, "live\n")
        case "/ready":
            let remaining = workload.notAfter - Self.unixTime()
            let snapshot = loops.snapshot
            let age = max(0, Self.unixTime() - snapshot.generatedAt)
            if remaining <= 0 {
                respond(
                    context, head, .serviceUnavailable,
                    "not ready: the mesh certificate expired \(-remaining)s ago; peers refuse it\n")
            } else {
                respond(
                    context, head, .ok,
                    "ready: snapshot version \(snapshot.version) (built \(age)s ago\(loops.secondsSinceContact.map { ", registry heard \($0)s ago" } ?? "")), certificate valid for \(remaining)s\n"
                )
            }
        case "/certificate":
            let material = workload.material
            let leaf = material.chain[0]
            let source = workload.renewsItself ? "weft-ca" : "files"
            let body = """
                {"identity": "\(workload.identity)", "serial": "\(leaf.serialHex)", "not_before": \(leaf.notBefore), \
                "not_after": \(leaf.notAfter), "expires_in_seconds": \(leaf.notAfter - Self.unixTime()), \
                "source": "\(source)", "renewals": \(workload.renewals), "trust_roots": \(material.bundle.count), \
                "revoked_serials": \(material.revoked.count)}

                """
            respond(context, head, .ok, body, extra: [("content-type", "application/json")])
        case "/config":
            // The snapshot in force, as the registry (or the file) gave it:
            // what `weftctl proxy config` shows.
            let snapshot = loops.snapshot
            do {
                let body = String(decoding: try WeftJSON.encode(snapshot.source, pretty: true), as: UTF8.self) + "\n"
                respond(context, head, .ok, body, extra: [("content-type", "application/json")])
            } catch {
                respond(context, head, .internalServerError, "cannot encode the snapshot: \(error)\n")
            }
        case "/endpoints":
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            loops.endpoints().hop(to: context.eventLoop).whenSuccess { reports in
                let (handler, context) = loopBound.value
                handler.respond(
                    context, head, .ok, Self.endpointsJSON(reports), extra: [("content-type", "application/json")])
            }
        case "/metrics":
            let (expiry, renewals, prefix) = (workload.notAfter, workload.renewals, prefix)
            let generatedAt = loops.snapshot.generatedAt
            let lastContact = loops.secondsSinceContact
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let accessLog = loops.accessLog
            let tracer = loops.tracer
            let open = listeners.map { (listener: $0.name, count: $0.connections.count) }
            loops.metrics().hop(to: context.eventLoop).whenSuccess { totals in
                var totals = totals
                totals.accessLogDropped = accessLog?.dropped
                totals.spans = tracer.map { ($0.exported, $0.dropped) }
                totals.openConnections = open
                var text = totals.exposition(prefix: prefix)
                text += "# HELP \(prefix)_certificate_expiry_seconds Seconds until the mesh certificate expires.\n"
                text += "# TYPE \(prefix)_certificate_expiry_seconds gauge\n"
                text += "\(prefix)_certificate_expiry_seconds \(expiry - Self.unixTime())\n"
                text += "# HELP \(prefix)_certificate_renewals_total Certificates obtained from weft-ca by renewal.\n"
                text += "# TYPE \(prefix)_certificate_renewals_total counter\n"
                text += "\(prefix)_certificate_renewals_total \(renewals)\n"
                text += "# HELP \(prefix)_snapshot_age_seconds Seconds since the registry built the snapshot in use.\n"
                text += "# TYPE \(prefix)_snapshot_age_seconds gauge\n"
                text += "\(prefix)_snapshot_age_seconds \(max(0, Self.unixTime() - generatedAt))\n"
                if let contact = lastContact {
                    text +=
                        "# HELP \(prefix)_discovery_last_contact_seconds Seconds since the registry last answered a discovery query (a change, or nothing changed).\n"
                    text += "# TYPE \(prefix)_discovery_last_contact_seconds gauge\n"
                    text += "\(prefix)_discovery_last_contact_seconds \(contact)\n"
                }
                let (handler, context) = loopBound.value
                handler.respond(
                    context, head, .ok, text, extra: [("content-type", "text/plain; version=0.0.4")])
            }
        default:
            respond(context, head, .notFound, "not found; try /live, /ready, /certificate, /endpoints or /metrics\n")
        }
    }

    /// `{"endpoints": [...]}`: each upstream endpoint with its balancer record.
    static func endpointsJSON(_ reports: [EndpointReport]) -> String {
        func quoted(_ text: String) -> String {
            var result = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": result += "\\\""
                case "\\": result += "\\\\"
                case _ where scalar.value < 0x20:
                    result +=
                        "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                        + String(scalar.value, radix: 16)
                default: result.unicodeScalars.append(scalar)
                }
            }
            return result + "\""
        }
        let items = reports.map { report in
            let latency = report.latencyMilliseconds.map { "\(($0 * 1000).rounded() / 1000)" } ?? "null"
            let balancer: String
            switch report.balancer {
            case .peakEWMA: balancer = "peak_ewma"
            case .leastRequest: balancer = "least_request"
            case .roundRobin: balancer = "round_robin"
            case .random: balancer = "random"
            case .ringHash: balancer = "ring_hash"
            }
            return """
                {"upstream": \(quoted(report.upstream)), "endpoint": \(quoted(report.endpoint)), \
                "zone": \(report.zone.map(quoted) ?? "null"), "weight": \(report.weight), \
                "balancer": "\(balancer)", "in_flight": \(report.inFlight), "latency_ms": \(latency), \
                "consecutive_failures": \(report.consecutiveFailures), \
                "ejected_for_ms": \(report.ejectedForMilliseconds), "ejections": \(report.ejections), \
                "warming": \(report.warming)}
                """
        }
        return "{\"endpoints\": [" + items.joined(separator: ", ") + "]}\n"
    }

    static func unixTime() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec)
    }

    private func respond(
        _ context: ChannelHandlerContext, _ request: HTTPRequestHead, _ status: HTTPResponseStatus, _ body: String,
        extra: [(String, String)] = []
    ) {
        var headers = HTTPHeaders(extra)
        if !headers.contains(name: "content-type") { headers.add(name: "content-type", value: "text/plain") }
        headers.add(name: "content-length", value: String(body.utf8.count))
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))),
            promise: nil)
        if request.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// What an admin endpoint answers.
public struct AdminResponse: Sendable {
    public var status: HTTPResponseStatus
    public var contentType: String
    public var body: String

    public init(_ status: HTTPResponseStatus, contentType: String = "application/json", _ body: String) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

#if canImport(Glibc)
    import Glibc
#endif

@available(*, unavailable)
extension AdminHandler: Sendable {}
