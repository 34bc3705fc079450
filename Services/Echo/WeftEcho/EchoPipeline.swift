import NIOCore
import NIOHTTP1
import WeftHTTP2
import WeftProxy
import WeftTLS

/// Builds a connection's pipeline once its protocol is known.
enum EchoPipeline {
    static func addHTTP2(
        to pipeline: ChannelPipeline.SynchronousOperations, after handler: any ChannelHandler, eventLoop: any EventLoop,
        peerIdentity: String?, name: String?
    ) throws {
        let http2 = try HTTP2ConnectionHandler { _ in
            EchoHTTP2Stream(eventLoop: eventLoop, peerIdentity: peerIdentity, name: name)
        }
        try pipeline.addHandler(http2, position: .after(handler))
    }

    static func addHTTP1(
        to pipeline: ChannelPipeline.SynchronousOperations, after handler: any ChannelHandler, peerIdentity: String?,
        name: String?
    ) throws {
        try pipeline.configureHTTPServerPipeline(
            position: .after(handler), withPipeliningAssistance: true, withErrorHandling: true)
        try pipeline.addHandler(EchoHTTP1Handler(peerIdentity: peerIdentity, name: name))
    }
}

extension EchoPipeline {
    /// The cleartext port: h2c with prior knowledge or HTTP/1.1.
    static func sniffer(name: String?) -> CleartextProtocolSniffer {
        CleartextProtocolSniffer { detected, pipeline, sniffer in
            switch detected {
            case .http2:
                try addHTTP2(to: pipeline, after: sniffer, eventLoop: pipeline.eventLoop, peerIdentity: nil, name: name)
            case .http1:
                try addHTTP1(to: pipeline, after: sniffer, peerIdentity: nil, name: name)
            }
        }
    }

    /// A TLS port: the protocol ALPN chose (`h2`, else HTTP/1.1).
    static func router(name: String?) -> ApplicationProtocolRouter {
        ApplicationProtocolRouter { info, pipeline, router in
            if info.applicationProtocol == "h2" {
                try addHTTP2(to: pipeline, after: router, eventLoop: pipeline.eventLoop, peerIdentity: info.peerIdentity, name: name)
            } else {
                try addHTTP1(to: pipeline, after: router, peerIdentity: info.peerIdentity, name: name)
            }
        }
    }
}
