import NIOCore
import NIOHTTP1
import WeftHTTP2

/// The request-taking half every client-facing pipeline shares (the sidecar's
/// outbound ports, the gateway's listener): the protocol sniffed from the first
/// bytes, then HTTP/1.1 through the bridge or h2c stream by stream, every
/// request handed to `dispatch`.
enum CleartextRequestPipeline {
    static func configure(
        _ channel: any Channel, scheme: String, errors: ProxyErrorResponse,
        makeObserver: @escaping () -> RequestObserver, openTunnel: HTTP1ToHTTP2Bridge.StreamOpener?,
        limits: EdgeLimits? = nil, dispatch: @escaping HTTP2StreamForwarder.Dispatch
    ) throws {
        let pipeline = channel.pipeline.syncOperations
        let closer = CloseOnErrorHandler()
        // 1. Sniff the protocol from the first bytes: the HTTP/2 preface (h2c with
        //    prior knowledge, gRPC) or anything else (HTTP/1.1). It holds at most
        //    24 bytes, and leaves once it has built the rest. At a public edge a
        //    connection has the header-read time to show its protocol.
        try pipeline.addHandler(
            CleartextProtocolSniffer(deadline: limits?.headerReadTimeout) { detected, pipeline, sniffer in
                try addHandlers(
                    for: detected, to: pipeline, after: sniffer, scheme: scheme, errors: errors,
                    makeObserver: makeObserver, openTunnel: openTunnel, limits: limits, dispatch: dispatch)
            })
        // Last: whatever error reaches the end of the pipeline closes the connection.
        try pipeline.addHandler(closer)
    }

    /// The handlers that take requests once the protocol is known (sniffed on a
    /// cleartext port, or chosen by ALPN behind TLS), added after `predecessor`.
    static func addHandlers(
        for detected: CleartextProtocolSniffer.Detected, to pipeline: ChannelPipeline.SynchronousOperations,
        after predecessor: any ChannelHandler, scheme: String, errors: ProxyErrorResponse,
        makeObserver: @escaping () -> RequestObserver, openTunnel: HTTP1ToHTTP2Bridge.StreamOpener?,
        limits: EdgeLimits?, dispatch: @escaping HTTP2StreamForwarder.Dispatch
    ) throws {
        let closer = try pipeline.handler(type: CloseOnErrorHandler.self)
        switch detected {
        case .http1:
            // 2a. NIO's HTTP/1.1 server codec. Pipelining assistance hands the
            //     bridge one request at a time. No outbound header validation:
            //     response fields come from HTTP/2 streams nghttp2 validated,
            //     or from the proxy itself.
            try pipeline.configureHTTPServerPipeline(
                position: .after(predecessor), withPipeliningAssistance: true, withErrorHandling: false,
                withOutboundHeaderValidation: false)
            // 3a. What the parser refuses is answered and the connection
            //     closed: 431 for an oversized header section, 400 for the
            //     rest (the request smuggling shapes: Content-Length with
            //     Transfer-Encoding, two lengths, bad chunk sizes, obs-fold,
            //     bare CR or LF), so nothing ambiguous is ever forwarded.
            // 4a. The bridge: each request becomes one stream; failures are
            //     answered through `errors`. Where `openTunnel` is given, a
            //     `CONNECT host:port` opens a CONNECT stream and, once it is
            //     answered 2xx, turns the connection into a raw TCP tunnel.
            // 3b. At a public edge (`limits`): the first byte of a request
            //     starts its header-read deadline (408 past it), a
            //     connection idle between requests is closed, and the
            //     bridge refuses bodies over the limit (413).
            if let limits {
                let clock = HTTP1RequestClock(limits: limits, errors: errors)
                try pipeline.addHandler(HTTP1FirstByteWatcher(clock: clock), position: .after(predecessor))
                // Before the pipelining handler: its 408 is written with no
                // request in flight, which that handler would refuse.
                let pipelining = try pipeline.handler(type: HTTPServerPipelineHandler.self)
                try pipeline.addHandler(HTTP1RequestDeadline(clock: clock), position: .before(pipelining))
            }
            try pipeline.addHandlers(
                [
                    HTTP1ParserErrorResponder(errors: errors),
                    HTTP1ToHTTP2Bridge(
                        scheme: scheme, errors: errors, makeObserver: makeObserver, openTunnel: openTunnel,
                        maximumRequestBody: limits?.maximumRequestBody, dispatch: dispatch),
                ], position: .before(closer))
        case .http2:
            // 2b. An HTTP/2 server whose every stream is forwarded, stream to
            //     stream, with flow control linked end to end.
            //     At a public edge, an idle connection is closed (GOAWAY)
            //     and bodies over the limit are refused (413).
            let eventLoop = pipeline.eventLoop
            var configuration = HTTP2Configuration()
            configuration.idleTimeout = limits?.idleTimeout
            if let limits { configuration.maximumConcurrentStreams = limits.maximumConcurrentStreams }
            let maximumBody = limits?.maximumRequestBody
            try pipeline.addHandler(
                try HTTP2ConnectionHandler(configuration: configuration) { stream in
                    HTTP2StreamForwarder(
                        downstream: stream, eventLoop: eventLoop, errors: errors, observer: makeObserver(),
                        maximumRequestBody: maximumBody, dispatch: dispatch)
                }, position: .after(predecessor))
        }
    }
}
