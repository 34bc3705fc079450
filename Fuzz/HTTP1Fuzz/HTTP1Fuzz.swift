import FuzzSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
import WeftHTTP2
import WeftProxy

/// libFuzzer's entry point for the HTTP/1.1 side of the proxies: the bytes an
/// application (or, at the gateway, anyone on the internet) sends, parsed by
/// NIO's HTTP/1.1 decoder as the bridge parses them, and every request head
/// translated to the HTTP/2 header block the bridge would send on.
///
/// Besides "never crashes", each translated block must be one an HTTP/2 peer
/// accepts: pseudo-headers first and only the ones a request has, names
/// lowercase, no connection-specific field; and translating it back to
/// HTTP/1.1 and forward again must give the same block.
@_cdecl("LLVMFuzzerTestOneInput")
public func http1Fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let channel = EmbeddedChannel()
    defer { _ = try? channel.finish() }
    let heads = HeadCollector()
    do {
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
        try channel.pipeline.syncOperations.addHandler(heads)
        var buffer = channel.allocator.buffer(capacity: size)
        buffer.writeBytes(UnsafeBufferPointer(start: data, count: size))
        try channel.writeInbound(buffer)
    } catch {
        // A malformed message: the decoder's error is the bridge's 400.
    }
    for head in heads.heads {
        check(head)
    }
    return 0
}

func check(_ head: HTTPRequestHead) {
    guard let block = try? HTTPMessageTranslation.http2RequestHeaders(for: head, scheme: "http") else { return }
    let pseudo = block.prefix { $0.name.hasPrefix(":") }
    precondition(
        !block.dropFirst(pseudo.count).contains { $0.name.hasPrefix(":") },
        "a pseudo-header after a regular one: \(block)")
    let expected = head.method == .CONNECT ? [":method", ":authority"] : [":method", ":scheme", ":authority", ":path"]
    precondition(pseudo.map(\.name) == expected, "pseudo-headers \(pseudo.map(\.name)) for \(head.method)")
    for header in block.dropFirst(pseudo.count) {
        precondition(header.name == header.name.lowercased(), "an uppercase name crossed: \(header.name)")
        precondition(
            !["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host"].contains(
                header.name),
            "a connection-specific field crossed: \(header.name)")
        precondition(header.name != "te" || header.value == "trailers", "te other than trailers crossed")
    }
    precondition(!(block.first { $0.name == ":authority" }?.value.isEmpty ?? true), "an empty :authority")
    // Back to HTTP/1.1 and forward again: the same block.
    guard let back = try? HTTPMessageTranslation.http1RequestHead(for: block) else {
        preconditionFailure("a translated block does not translate back: \(block)")
    }
    let again = try? HTTPMessageTranslation.http2RequestHeaders(for: back, scheme: "http")
    precondition(again == block, "not stable: \(block) then \(String(describing: again))")
}

/// Keeps the request heads the decoder produced.
final class HeadCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    var heads: [HTTPRequestHead] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) { heads.append(head) }
    }
}

/// `main`, as SwiftPM links it (see FuzzSupport).
@_cdecl("weft_fuzz_http1_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, http1Fuzz)
}
