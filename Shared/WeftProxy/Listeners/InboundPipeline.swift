public import NIOCore
import NIOPosix
import WeftHTTP2
import WeftProtocol
public import WeftTLS

/// The inbound pipeline: the mesh's requests to the local application.
public enum InboundPipeline {
    /// Builds the pipeline of one accepted mesh connection.
    ///
    /// - Parameters:
    ///   - tls: the mesh server context (TLS 1.3, ALPN `h2`, client certificate
    ///     required and verified against the trust bundle and its revoked serials,
    ///     SPIFFE identity required).
    ///   - refused: told why a connection was refused or failed (the log).
    /// HTTP/2 on the mesh port: the defaults, but with ten times the allowance of
    /// stream resets. The peer is an authenticated sidecar relaying its callers'
    /// cancellations over one connection, and each of those callers is already
    /// held to the default allowance on its own connection there; one abusive
    /// caller must not get the shared mesh connection closed for everyone.
    static let meshServerHTTP2: HTTP2Configuration = {
        var configuration = HTTP2Configuration()
        configuration.streamResetBurst *= 10
        configuration.streamResetRatePerSecond *= 10
        return configuration
    }()

    public static func configure(
        _ channel: any Channel, tls: TLSContextProvider, loops: ProxyLoops, policy: InboundRequestPolicy,
        errors: ProxyErrorResponse, refused: @escaping @Sendable (String) -> Void
    ) throws {
        let loop = loops.loop(channel.eventLoop)
        let peerAddress = channel.remoteAddress?.ipAddress
        let pipeline = channel.pipeline.syncOperations
        // 1. Mutual TLS. Plaintext, a client without a certificate, a foreign CA or
        //    trust domain, a revoked serial: refused in the handshake, before any
        //    HTTP is read.
        try pipeline.addHandler(try tls.makeHandler())
        // 2. Once the handshake is done, HTTP/2 (the only protocol the mesh offers
        //    in ALPN), with the caller's verified identity captured for every stream.
        try pipeline.addHandler(
            ApplicationProtocolRouter { info, pipeline, router in
                let caller = info.peerIdentity.flatMap { try? SPIFFEID(validating: $0) }
                let callerIdentity = caller?.description
                let eventLoop = pipeline.eventLoop
                // Per connection, not per stream: what every stream of this caller
                // shares (its identity, formatted once; the rewrite; the tunnel rule).
                let prepare: HTTP2ToHTTP1Forwarder.Prepare = { headers in
                    // The service's rate limit, per caller: one noisy caller
                    // cannot use up what the others are owed.
                    if let wait = loop.inboundRateLimit(caller: callerIdentity ?? "") {
                        loop.metrics.recordPolicy(.rateLimited)
                        return .failure(
                            .rateLimited(
                                "\(callerIdentity ?? "an unidentified caller") exceeded \(policy.service)'s rate limit",
                                retryAfter: wait))
                    }
                    let prepared = policy.prepare(
                        headers, caller: caller, callerIdentity: callerIdentity, peerAddress: peerAddress,
                        snapshot: loop.snapshot, traceIDs: loop.traceIDs)
                    // A line per denial: who was refused what, and which rule said so.
                    if case .failure(.denied(let reason)) = prepared {
                        let method = headers[first: ":method"] ?? "?"
                        let path = (headers[first: ":path"] ?? "?").prefix(256)
                        refused("denied \(method) \(path): \(reason)")
                    }
                    return prepared
                }
                // A CONNECT the caller may make becomes a TCP tunnel to the
                // application's port, never to the address it names (the sidecar is
                // no open proxy); a refused one is answered by the forwarder.
                let takeOver: HTTP2StreamForwarder.TakeOver = { headers, endStream, stream in
                    guard case .success = prepare(headers), let application = loop.application else { return nil }
                    let (host, port) = (application.host, application.port)
                    let tunnel = HTTP2Tunnel.accepting(eventLoop: eventLoop) { _, _, eventLoop in
                        ClientBootstrap(group: eventLoop).connectTimeout(.seconds(2))
                            .channelOption(.socketOption(.tcp_nodelay), value: 1)
                            .connect(endpoint: host, port: port)
                    }
                    tunnel.headersReceived(headers, endStream: endStream, stream: stream)
                    return tunnel
                }
                let speaksTCP = loop.application?.protocolKind == .tcp
                // 3. Each stream: authorize and rewrite (InboundRequestPolicy), then
                //    to the application in the protocol it speaks.
                let http2 = try HTTP2ConnectionHandler(configuration: Self.meshServerHTTP2) { stream in
                    let observer = RequestObserver(
                        loop: loop, direction: .inbound, client: peerAddress, caller: callerIdentity)
                    if let pool = loop.applicationHTTP1Pool() {
                        return HTTP2ToHTTP1Forwarder(
                            downstream: stream, eventLoop: eventLoop, pool: pool, errors: errors, observer: observer,
                            takeOver: takeOver, timers: loop.timers, prepare: prepare)
                    }
                    return HTTP2StreamForwarder(
                        downstream: stream, eventLoop: eventLoop, errors: errors, observer: observer,
                        takeOver: takeOver
                    ) { headers, endStream in
                        switch prepare(headers) {
                        case .success where speaksTCP:
                            return .failure(.badRequest("this service speaks TCP: reach it through a CONNECT tunnel"))
                        case .success(let rewritten):
                            return Self.applicationPlan(rewritten, endStream: endStream, loop: loop)
                        case .failure(let error):
                            return .failure(error)
                        }
                    }
                }
                try pipeline.addHandler(http2, position: .after(router))
            })
        // 4. Report what ended a connection abnormally, then close it.
        try pipeline.addHandler(
            ConnectionErrorReporter(peer: peerAddress ?? "?", metrics: loop.metrics, report: refused))
        try pipeline.addHandler(CloseOnErrorHandler())
    }
}

extension InboundPipeline {
    /// A request to the application over h2c: the deadline the caller's side
    /// sent (what is left of it) is held here too, and passed on shortened; no
    /// retries (the application is one endpoint, and the caller's side retries).
    static func applicationPlan(_ headers: [HTTP2Header], endStream: Bool, loop: ProxyLoop)
        -> Result<ForwardingPlan, ProxyError>
    {
        var plan = ForwardingPlan(
            loop: loop, target: .application, headers: headers, endStream: endStream,
            method: headers[first: ":method"] ?? "GET", name: "the local application",
            grpc: ProxyErrorResponse.isGRPC(contentType: headers[first: "content-type"]))
        if let requested = Deadline.requested(in: headers) {
            plan.deadline = .now() + requested
            plan.timeout = requested
        }
        return .success(plan)
    }
}

/// Tells the log why a connection failed (a refused handshake, a protocol
/// violation), once per connection.
final class ConnectionErrorReporter: ChannelInboundHandler {
    typealias InboundIn = Any
    private let peer: String
    private let metrics: ProxyMetrics
    private let report: @Sendable (String) -> Void
    private var reported = false

    init(peer: String, metrics: ProxyMetrics, report: @escaping @Sendable (String) -> Void) {
        self.peer = peer
        self.metrics = metrics
        self.report = report
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !reported {
            reported = true
            report("connection from \(peer): \(error)")
            // A refused handshake, counted by reason: a climbing count of
            // verification failures is a peer with the wrong CA or an expired
            // certificate; of handshake failures, plaintext or anonymous callers.
            if let failure = error as? TLSError,
                [.verificationFailed, .handshakeFailed, .handshakeTimeout].contains(failure.kind)
            {
                metrics.recordTLSFailure(failure.kind.rawValue)
            }
        }
        context.fireErrorCaught(error)
    }
}

@available(*, unavailable)
extension ConnectionErrorReporter: Sendable {}
