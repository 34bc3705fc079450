import NIOCore
import NIOEmbedded
import Testing
import WeftTestSupport

@testable import WeftHTTP2

/// HTTP2ConnectionHandler (server role) on an EmbeddedChannel, with a real nghttp2 client session as
/// the peer.
@Suite struct HTTP2ConnectionHandlerTests {
    /// Echoes the request body and ends with a trailer; consumes received bytes only
    /// when told to (to exercise flow control).
    final class EchoStream: HTTP2StreamHandler {
        var autoConsume = true
        var received = 0
        var closedWith: HTTP2ErrorCode?
        var writePromises: [EventLoopFuture<Void>] = []
        let eventLoop: any EventLoop

        init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

        func headersReceived(_ headers: [HTTP2Header], endStream: Bool, stream: HTTP2Stream) {
            guard headers[first: ":status"] == nil, headers[first: ":method"] != nil else { return }
            try? stream.respond(
                [HTTP2Header(":status", "200"), HTTP2Header("x-path", headers[first: ":path"] ?? "")], endStream: false)
            if endStream { try? stream.writeTrailers([HTTP2Header("x-echoed", "0")]) }
        }

        func dataReceived(_ data: ByteBuffer, endStream: Bool, stream: HTTP2Stream) {
            received += data.readableBytes
            if data.readableBytes > 0 {
                let promise = eventLoop.makePromise(of: Void.self)
                writePromises.append(promise.futureResult)
                stream.write(data, promise: promise)
                if autoConsume { stream.consume(data.readableBytes) }
            }
            if endStream { try? stream.writeTrailers([HTTP2Header("x-echoed", "\(received)")]) }
        }

        func streamClosed(_ stream: HTTP2Stream, errorCode: HTTP2ErrorCode) { closedWith = errorCode }
    }

    final class Harness {
        let channel = EmbeddedChannel()
        let client: NGHTTP2Session
        var clientEvents: [HTTP2SessionEvent] = []
        var streams: [EchoStream] = []
        var errors: [any Error] = []

        final class ErrorCatcher: ChannelInboundHandler {
            typealias InboundIn = Never
            let harness: Harness
            init(_ harness: Harness) { self.harness = harness }
            func errorCaught(context: ChannelHandlerContext, error: any Error) { harness.errors.append(error) }
        }

        init(autoConsume: Bool = true) throws {
            client = try NGHTTP2Session(role: .client)
            let loop = channel.eventLoop
            let handler = try HTTP2ConnectionHandler { [unowned self] _ in
                let stream = EchoStream(eventLoop: loop)
                stream.autoConsume = autoConsume
                self.streams.append(stream)
                return stream
            }
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.pipeline.syncOperations.addHandler(ErrorCatcher(self))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        func pump() throws {
            try WeftHTTP2Tests.pump(client: client, channel: channel, events: &clientEvents)
        }

        func body(_ stream: Int32) -> [UInt8] {
            clientEvents.reduce(into: []) { bytes, event in
                if case .data(stream, let data, _) = event { bytes += Array(data.readableBytesView) }
            }
        }
    }

    static func request(_ path: String, method: String = "POST") -> [HTTP2Header] {
        [
            HTTP2Header(":method", method), HTTP2Header(":scheme", "http"), HTTP2Header(":authority", "echo"),
            HTTP2Header(":path", path),
        ]
    }

    @Test func echoesBodiesAndTrailersAcrossTheChannel() throws {
        let harness = try Harness()
        let id = try harness.client.submitRequest(Self.request("/echo"), endStream: false)
        try harness.client.sendData(streamID: id, ByteBuffer(string: "hello over h2"), endStream: true)
        try harness.pump()
        #expect(String(decoding: harness.body(id), as: UTF8.self) == "hello over h2")
        let blocks = harness.clientEvents.compactMap { event -> [HTTP2Header]? in
            if case .headers(id, let headers, _) = event { return headers } else { return nil }
        }
        #expect(blocks.first?[first: "x-path"] == "/echo")
        #expect(blocks.last == [HTTP2Header("x-echoed", "13")])
        #expect(harness.streams.first?.closedWith == .noError)
        // The echo's write promise completed once its bytes were written.
        #expect(harness.streams.first?.writePromises.allSatisfy { (try? $0.wait()) != nil } == true)
        finishClean(harness.channel)
    }

    @Test func aSlowReaderSlowsTheSenderEndToEnd() throws {
        // The server's stream handler does not consume: the client may only send
        // the server's initial window, however much it queues.
        let harness = try Harness(autoConsume: false)
        let id = try harness.client.submitRequest(Self.request("/upload"), endStream: false)
        let size = 1 << 20
        var body = ByteBuffer()
        body.writeRepeatingByte(0x61, count: size)
        try harness.client.sendData(streamID: id, body, endStream: true)
        try harness.pump()
        let stream = try #require(harness.streams.first)
        #expect(stream.received <= 65_535 && stream.received > 0)
        #expect(harness.client.pendingOutboundBytes(streamID: id) >= size - 65_535)
        finishClean(harness.channel)
    }

    @Test func garbageGetsAGoawayAndAClose() throws {
        let harness = try Harness()
        try harness.channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: echo\r\n\r\n"))
        #expect(harness.errors.contains { ($0 as? HTTP2Error)?.kind == .protocolViolation })
        #expect(!harness.channel.isActive)
        // Our SETTINGS went out first, then the GOAWAY that says why.
        let frames = try writtenFrames(harness.channel)
        #expect(frames.first?.type == 4)
        #expect(goAwayCodes(frames) == [.protocolError], "\(frames.map(\.type))")
        finishClean(harness.channel)
    }

    @Test func openStreamsLearnWhenTheConnectionDrops() throws {
        let harness = try Harness()
        _ = try harness.client.submitRequest(Self.request("/hang"), endStream: false)
        try harness.pump()
        try harness.channel.close().wait()
        #expect(harness.streams.first?.closedWith == .cancel)
        finishClean(harness.channel)
    }
}
