public import NIOCore
import NIOHTTP1
import WeftHTTP2
import WeftProtocol
public import WeftTLS

/// The gateway pipeline: external requests, routed by the gateway's route table
/// into the mesh.
///
/// A client connects over HTTP/1.1 or h2c (one port; TLS comes first on the TLS
/// port). Each request is matched against the route table of the loop's current
/// snapshot; the rule that takes it picks a destination (a service, narrowed to
/// a label subset, by weight, sticky by a header where the rule says so), its
/// headers are cleaned and rewritten (`GatewayRequestPolicy`), and it becomes a
/// stream on a pooled mutual-TLS HTTP/2 connection to one of the destination's
/// endpoints, with the gateway's own identity. A request no rule takes is
/// answered 404 `no-route`.
public enum GatewayPipeline {
    /// Builds the pipeline of one accepted client connection. `scheme` is what
    /// the client used (`http`, or `https` behind the TLS listener).
    ///
    /// With `redirectToHTTPS`, the port routes nothing: every request is
    /// answered 308 with the same host and target under `https://`, on that
    /// port (omitted when 443).
    public static func configure(
        _ channel: any Channel, scheme: String, loops: ProxyLoops, errors: ProxyErrorResponse,
        limits: EdgeLimits = EdgeLimits(), redirectToHTTPS httpsPort: Int? = nil
    ) throws {
        let loop = loops.loop(channel.eventLoop)
        let dispatch =
            httpsPort.map { Self.redirect(loop: loop, httpsPort: $0) }
            ?? Self.dispatch(loop: loop, scheme: scheme, clientAddress: channel.remoteAddress?.ipAddress)
        let client = channel.remoteAddress?.ipAddress
        let makeObserver = { RequestObserver(loop: loop, direction: .outbound, client: client, edge: true) }
        // 1–4. Sniff h2c or HTTP/1.1; HTTP/1.1 through the parser's refusals
        //      (431, and 400 for the smuggling shapes: nothing ambiguous enters
        //      the mesh) to the bridge, h2c stream by stream. CONNECT is not
        //      offered at the edge. The edge's limits hold every client to a
        //      head in time (408), no idling past its welcome, and a bounded body
        //      (413).
        try CleartextRequestPipeline.configure(
            channel, scheme: scheme, errors: errors, makeObserver: makeObserver, openTunnel: nil, limits: limits,
            dispatch: dispatch)
    }

    /// Builds the pipeline of one connection accepted on the TLS listener: the
    /// handshake with the operator's certificate for the name the client asked
    /// for (`tls`, swapped whole when the files change), then HTTP/2 or HTTP/1.1
    /// as ALPN chose, and from there the same pipeline as the cleartext port.
    public static func configureTLS(
        _ channel: any Channel, tls: TLSContextProvider, loops: ProxyLoops, errors: ProxyErrorResponse,
        limits: EdgeLimits = EdgeLimits()
    ) throws {
        let loop = loops.loop(channel.eventLoop)
        let dispatch = Self.dispatch(loop: loop, scheme: "https", clientAddress: channel.remoteAddress?.ipAddress)
        let client = channel.remoteAddress?.ipAddress
        let makeObserver = { RequestObserver(loop: loop, direction: .outbound, client: client, edge: true) }
        let pipeline = channel.pipeline.syncOperations
        // 1. TLS: a client has the header-read time to finish its handshake.
        try pipeline.addHandler(try TLSHandler(context: tls.current, handshakeTimeout: limits.headerReadTimeout))
        // 2–4. ALPN's choice (`h2`, else HTTP/1.1), then as on the cleartext port.
        try pipeline.addHandler(
            ApplicationProtocolRouter { info, pipeline, router in
                let detected: CleartextProtocolSniffer.Detected = info.applicationProtocol == "h2" ? .http2 : .http1
                try CleartextRequestPipeline.addHandlers(
                    for: detected, to: pipeline, after: router, scheme: "https", errors: errors,
                    makeObserver: makeObserver, openTunnel: nil, limits: limits, dispatch: dispatch)
            })
        try pipeline.addHandler(CloseOnErrorHandler())
    }

    /// The plaintext port's answer when HTTPS is required: 308 to the same host
    /// and target on the HTTPS port. A request without a host is refused.
    static func redirect(loop: ProxyLoop, httpsPort: Int) -> HTTP2StreamForwarder.Dispatch {
        { headers, _ in
            let request = GatewayRequest(headers: headers)
            guard !request.host.isEmpty else {
                return .failure(.badRequest("a request without a host cannot be redirected"))
            }
            let port = httpsPort == 443 ? "" : ":\(httpsPort)"
            let location = "https://\(request.host)\(port)\(headers[first: ":path"] ?? "/")"
            return .success(.answer(.redirect(to: location, status: 308), loop: loop, name: "https-redirect"))
        }
    }

    /// Routes a request on the loop's current snapshot and plans it
    /// (`MeshRequestPlanner`: faults, deadline, retries of the rule).
    static func dispatch(loop: ProxyLoop, scheme: String, clientAddress: String?) -> HTTP2StreamForwarder.Dispatch {
        { headers, endStream in
            let routes = loop.snapshot.gatewayRoutes
            let request = GatewayRequest(headers: headers)
            guard let route = routes.match(request) else {
                let described = "\(request.method.prefix(16)) \(request.host.prefix(253))\(request.path.prefix(256))"
                return .failure(.noRoute(described))
            }
            var plan: Result<ForwardingPlan, ProxyError>
            if let destination = route.destination(for: request, random: loop.random.below(10_000)) {
                let outgoing = GatewayRequestPolicy.prepare(
                    headers, request: request, route: route.rule, clientAddress: clientAddress, scheme: scheme,
                    traceIDs: loop.traceIDs)
                plan = MeshRequestPlanner.plan(
                    outgoing, endStream: endStream, destination: destination.upstream, rule: route.rule, loop: loop)
            } else {
                // A redirect or a direct response: answered here.
                plan = MeshRequestPlanner.answer(headers, request: request, rule: route.rule, loop: loop)
            }
            // Which rule took the request, for the client's and the operator's
            // debugging (`weftctl route explain` says why).
            if case .success(var planned) = plan {
                planned.responseHeaders = [HTTP2Header(WeftHeaders.route, route.rule.name.rawValue)]
                plan = .success(planned)
            }
            return plan
        }
    }
}
