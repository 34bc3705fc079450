public import NIOCore
import NIOHTTP1
import WeftHTTP2

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
        _ channel: any Channel, scheme: String, loops: ProxyLoops, errors: ProxyErrorResponse
    ) throws {
        let loop = loops.loop(channel.eventLoop)
        let dispatch = Self.dispatch(loop: loop, scheme: scheme, clientAddress: channel.remoteAddress?.ipAddress)
        let makeObserver = { RequestObserver(metrics: loop.metrics, direction: .outbound) }
        let pipeline = channel.pipeline.syncOperations
        let closer = CloseOnErrorHandler()
        // 1. Sniff the protocol from the first bytes: the HTTP/2 preface (h2c with
        //    prior knowledge) or anything else (HTTP/1.1).
        try pipeline.addHandler(
            CleartextProtocolSniffer { detected, pipeline, sniffer in
                switch detected {
                case .http1:
                    // 2a. NIO's HTTP/1.1 server codec, one request at a time.
                    try pipeline.configureHTTPServerPipeline(
                        position: .after(sniffer), withPipeliningAssistance: true, withErrorHandling: false,
                        withOutboundHeaderValidation: false)
                    // 3a. What the parser refuses (oversized header sections: 431;
                    //     the request smuggling shapes: 400) is answered and the
                    //     connection closed: nothing ambiguous enters the mesh.
                    // 4a. The bridge: each request becomes one mesh stream. CONNECT
                    //     is not offered at the edge.
                    try pipeline.addHandlers(
                        [
                            HTTP1ParserErrorResponder(errors: errors),
                            HTTP1ToHTTP2Bridge(scheme: scheme, errors: errors, makeObserver: makeObserver) {
                                headers, endStream, handler in dispatch(headers, endStream, handler)
                            },
                        ], position: .before(closer))
                case .http2:
                    // 2b. An HTTP/2 server whose every stream is routed and forwarded,
                    //     with flow control linked end to end.
                    let eventLoop = pipeline.eventLoop
                    try pipeline.addHandler(
                        try HTTP2ConnectionHandler { stream in
                            HTTP2StreamForwarder(
                                downstream: stream, eventLoop: eventLoop, errors: errors, observer: makeObserver(),
                                dispatch: dispatch)
                        }, position: .after(sniffer))
                }
            })
        // Last: whatever error reaches the end of the pipeline closes the connection.
        try pipeline.addHandler(closer)
    }

    /// Routes a request on the loop's current snapshot and opens its mesh stream.
    static func dispatch(loop: ProxyLoop, scheme: String, clientAddress: String?) -> HTTP2StreamForwarder.Dispatch {
        { headers, endStream, handler in
            let routes = loop.snapshot.gatewayRoutes
            let request = GatewayRequest(headers: headers)
            guard let route = routes.match(request) else {
                let described = "\(request.method.prefix(16)) \(request.host.prefix(253))\(request.path.prefix(256))"
                return loop.eventLoop.makeFailedFuture(ProxyError.noRoute(described))
            }
            let destination = route.destination(for: request, random: loop.traceIDs.random(below: 10_000))
            let outgoing = GatewayRequestPolicy.prepare(
                headers, request: request, route: route.rule, clientAddress: clientAddress, scheme: scheme,
                traceIDs: loop.traceIDs)
            return loop.openMeshStream(to: destination.upstream, outgoing, endStream: endStream, handler: handler)
        }
    }
}
