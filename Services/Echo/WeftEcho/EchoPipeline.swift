import NIOCore
import NIOHTTP1
import WeftHTTP2
import WeftProxy
import WeftTLS

/// Builds a connection's pipeline once its protocol is known.
enum EchoPipeline {
    static func addHTTP2(
        to pipeline: ChannelPipeline.SynchronousOperations, after handler: any ChannelHandler, eventLoop: any EventLoop,
        peerIdentity: String?, behaviour: EchoBehaviour
    ) throws {
        let http2 = try HTTP2ConnectionHandler { _ in
            EchoHTTP2Stream(eventLoop: eventLoop, peerIdentity: peerIdentity, behaviour: behaviour)
        }
        try pipeline.addHandler(http2, position: .after(handler))
    }

    static func addHTTP1(
        to pipeline: ChannelPipeline.SynchronousOperations, after handler: any ChannelHandler, peerIdentity: String?,
        behaviour: EchoBehaviour
    ) throws {
        try pipeline.configureHTTPServerPipeline(
            position: .after(handler), withPipeliningAssistance: true, withErrorHandling: true)
        try pipeline.addHandler(EchoHTTP1Handler(peerIdentity: peerIdentity, behaviour: behaviour))
    }
}

extension EchoPipeline {
    /// The cleartext port: h2c with prior knowledge or HTTP/1.1.
    static func sniffer(behaviour: EchoBehaviour) -> CleartextProtocolSniffer {
        CleartextProtocolSniffer { detected, pipeline, sniffer in
            switch detected {
            case .http2:
                try addHTTP2(
                    to: pipeline, after: sniffer, eventLoop: pipeline.eventLoop, peerIdentity: nil, behaviour: behaviour
                )
            case .http1:
                try addHTTP1(to: pipeline, after: sniffer, peerIdentity: nil, behaviour: behaviour)
            }
        }
    }

    /// A TLS port: the protocol ALPN chose (`h2`, else HTTP/1.1).
    static func router(behaviour: EchoBehaviour) -> ApplicationProtocolRouter {
        ApplicationProtocolRouter { info, pipeline, router in
            if info.applicationProtocol == "h2" {
                try addHTTP2(
                    to: pipeline, after: router, eventLoop: pipeline.eventLoop, peerIdentity: info.peerIdentity,
                    behaviour: behaviour)
            } else {
                try addHTTP1(to: pipeline, after: router, peerIdentity: info.peerIdentity, behaviour: behaviour)
            }
        }
    }
}
