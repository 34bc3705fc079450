public import NIOCore
import NIOHTTP1
import WeftHTTP2
import WeftProtocol

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
    public static func configure(
        _ channel: any Channel, scheme: String, loops: ProxyLoops, errors: ProxyErrorResponse,
        limits: EdgeLimits = EdgeLimits()
    ) throws {
        let loop = loops.loop(channel.eventLoop)
        let dispatch = Self.dispatch(loop: loop, scheme: scheme, clientAddress: channel.remoteAddress?.ipAddress)
        let makeObserver = { RequestObserver(metrics: loop.metrics, direction: .outbound) }
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
            let destination = route.destination(for: request, random: loop.random.below(10_000))
            let outgoing = GatewayRequestPolicy.prepare(
                headers, request: request, route: route.rule, clientAddress: clientAddress, scheme: scheme,
                traceIDs: loop.traceIDs)
            var plan = MeshRequestPlanner.plan(
                outgoing, endStream: endStream, destination: destination.upstream, rule: route.rule, loop: loop)
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
