import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import WeftEcho
import WeftHTTP2
import WeftProxy
import WeftTestSupport

/// CONNECT tunnels over real loopback sockets: a client's HTTP/2 stream, a proxy
/// running `HTTP2Tunnel.accepting`, and a TCP target; and the connecting side
/// bridging a real client (curl) into a stream.
@Suite(.serialized) struct HTTP2TunnelTests {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    // MARK: The pieces

    /// A TCP target: echoes what it reads and half-closes when its input ends; or,
    /// when `reading` is off, reads nothing until told (a stalled receiver).
    final class Target: Sendable {
        let channel: any Channel
        private let received = NIOLockedValueBox<[UInt8]>([])
        private let children = NIOLockedValueBox<[any Channel]>([])
        let echoes: Bool

        init(echoes: Bool = true, reading: Bool = true, closeAfterFirstRead: Bool = false) throws {
            self.echoes = echoes
            let received = received
            let children = children
            channel = try ServerBootstrap(group: HTTP2TunnelTests.group)
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .childChannelOption(.autoRead, value: reading)
                .childChannelOption(.socketOption(.so_rcvbuf), value: 16 * 1024)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    children.withLockedValue { $0.append(channel) }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            TargetHandler(received: received, echoes: echoes, closeAfterFirstRead: closeAfterFirstRead))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).wait()
        }

        var port: Int { channel.localAddress!.port! }
        var receivedBytes: [UInt8] { received.withLockedValue { $0 } }

        /// Lets a stalled target read.
        func startReading() {
            for child in children.withLockedValue({ $0 }) {
                child.setOption(.autoRead, value: true).whenSuccess { child.read() }
            }
        }

        func close() { try? channel.close().wait() }
    }

    final class TargetHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let received: NIOLockedValueBox<[UInt8]>
        let echoes: Bool
        let closeAfterFirstRead: Bool

        init(received: NIOLockedValueBox<[UInt8]>, echoes: Bool, closeAfterFirstRead: Bool) {
            self.received = received
            self.echoes = echoes
            self.closeAfterFirstRead = closeAfterFirstRead
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = unwrapInboundIn(data)
            received.withLockedValue { $0 += bytes.readableBytesView }
            if closeAfterFirstRead {
                context.close(promise: nil)
                return
            }
            if echoes { context.writeAndFlush(wrapOutboundOut(bytes), promise: nil) }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case ChannelEvent.inputClosed = event { context.close(mode: .output, promise: nil) }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }

    /// Dials on the loop it is given, with a small send buffer so the kernel does
    /// not hide missing backpressure.
    static let dialer: HTTP2Tunnel.Dialer = { host, port, eventLoop in
        ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_sndbuf), value: 16 * 1024)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(2))
            .connect(host: host, port: port)
            .map { $0 as any Channel }
    }

    /// The accepting side: an HTTP/2 server whose every stream is a tunnel.
    static func startProxy() throws -> any Channel {
        try ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.syncOptions?.setOption(.socketOption(.tcp_nodelay), value: 1)
                    let loop = channel.eventLoop
                    try channel.pipeline.syncOperations.addHandler(
                        try HTTP2ConnectionHandler { _ in HTTP2Tunnel.accepting(eventLoop: loop, dialer: dialer) })
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    /// A client connection to the proxy.
    static func connectClient(port: Int) throws -> (any Channel, NIOLoopBound<HTTP2ConnectionHandler>) {
        try HTTP2TestClient.connect(port: port, group: group)
    }

    /// Opens a tunnel stream to `authority`, writes `payload` (ending the stream
    /// when `end`), and returns the stream's recorder and the stream.
    static func openTunnel(
        _ client: NIOLoopBound<HTTP2ConnectionHandler>, on channel: any Channel, authority: String,
        headers: [HTTP2Header]? = nil, payload: [UInt8] = [], end: Bool = true
    ) throws -> (HTTP2TestClient.Recorder, NIOLoopBound<HTTP2Stream>) {
        try channel.eventLoop.submit {
            let recorder = HTTP2TestClient.Recorder(closed: channel.eventLoop.makePromise())
            let stream = try client.value.openStream(
                headers ?? HTTP2Tunnel.requestHeaders(authority: authority), endStream: false, handler: recorder)
            if !payload.isEmpty || end {
                // In 64 KiB chunks, as an application would write.
                var offset = 0
                repeat {
                    let upper = min(offset + 65_536, payload.count)
                    stream.write(ByteBuffer(bytes: payload[offset..<upper]), endStream: end && upper == payload.count)
                    offset = upper
                } while offset < payload.count
            }
            return (recorder, NIOLoopBound(stream, eventLoop: channel.eventLoop))
        }.wait()
    }

    // MARK: Tests

    @Test func carriesBytesBothWaysAndEndsEachDirection() async throws {
        try await blocking {
            let target = try Target()
            defer { target.close() }
            let proxy = try Self.startProxy()
            defer { try? proxy.close().wait() }
            let (channel, client) = try Self.connectClient(port: proxy.localAddress!.port!)
            defer { try? channel.close().wait() }

            let payload = Command.randomBytes(3 << 20)
            let (recorder, _) = try Self.openTunnel(
                client, on: channel, authority: "127.0.0.1:\(target.port)", payload: payload)
            let seen = try recorder.closed.futureResult.wait()
            #expect(seen.status == "200")
            #expect(seen.closedWith == .noError)
            // The target's half-close (after echoing everything) became END_STREAM.
            #expect(seen.body.count == payload.count)
            #expect(seen.body == payload)
            #expect(target.receivedBytes == payload)
        }
    }

    @Test func aStalledTargetStallsTheSenderInsteadOfFillingTheProxy() async throws {
        try await blocking {
            let target = try Target(echoes: false, reading: false)
            defer { target.close() }
            let proxy = try Self.startProxy()
            defer { try? proxy.close().wait() }
            let (channel, client) = try Self.connectClient(port: proxy.localAddress!.port!)
            defer { try? channel.close().wait() }

            let payload = Command.randomBytes(16 << 20)
            let (recorder, stream) = try Self.openTunnel(
                client, on: channel, authority: "127.0.0.1:\(target.port)", payload: payload)
            func pending() throws -> Int { try channel.eventLoop.submit { stream.value.pendingOutboundBytes }.wait() }

            // Wait until the client's backlog stops shrinking.
            var last = -1
            for _ in 0..<40 {
                Thread.sleep(forTimeInterval: 0.05)
                let now = try pending()
                if now == last { break }
                last = now
            }
            // What left the client is what the windows (64 KiB stream window, 1 MiB
            // connection window) and small socket buffers allow: the rest waits at the
            // sender, not in the proxy.
            #expect(last > payload.count - (2 << 20), "only \(payload.count - last) bytes may have left the client")
            #expect(target.receivedBytes.isEmpty)

            target.startReading()
            Command.eventually { target.receivedBytes.count == payload.count }
            #expect(target.receivedBytes.count == payload.count)
            #expect(target.receivedBytes == payload)
            let seen = try recorder.closed.futureResult.wait()
            #expect(seen.closedWith == .noError)
        }
    }

    @Test func refusesWhatIsNotATunnelAndReportsFailedDials() async throws {
        try await blocking {
            let proxy = try Self.startProxy()
            defer { try? proxy.close().wait() }
            let (channel, client) = try Self.connectClient(port: proxy.localAddress!.port!)
            defer { try? channel.close().wait() }

            // A closed port: 502, and the stream ends cleanly.
            let closedPort = 1  // tcpmux: nothing listens there
            let (dial, _) = try Self.openTunnel(client, on: channel, authority: "127.0.0.1:\(closedPort)", end: false)
            let dialed = try dial.closed.futureResult.wait()
            #expect(dialed.status == "502")

            // An ordinary request: 405 (with Allow: CONNECT).
            let get = [
                HTTP2Header(":method", "GET"), HTTP2Header(":scheme", "http"), HTTP2Header(":authority", "x"),
                HTTP2Header(":path", "/"),
            ]
            let (plain, _) = try Self.openTunnel(client, on: channel, authority: "", headers: get, end: false)
            let planeSeen = try plain.closed.futureResult.wait()
            #expect(planeSeen.status == "405", "\(planeSeen)")

            // A target without a port, or with port 0: 400.
            for authority in ["127.0.0.1", "127.0.0.1:0", "[::1:80", ":443"] {
                let (bad, _) = try Self.openTunnel(client, on: channel, authority: authority, end: false)
                #expect(try bad.closed.futureResult.wait().status == "400", "\(authority)")
            }
            // The connection is still fine for a good tunnel afterwards.
            let target = try Target()
            defer { target.close() }
            let (good, _) = try Self.openTunnel(
                client, on: channel, authority: "127.0.0.1:\(target.port)", payload: [1, 2])
            #expect(try good.closed.futureResult.wait().body == [1, 2])
        }
    }

    @Test func aTargetThatHangsUpEndsTheTunnel() async throws {
        try await blocking {
            let target = try Target(closeAfterFirstRead: true)
            defer { target.close() }
            let proxy = try Self.startProxy()
            defer { try? proxy.close().wait() }
            let (channel, client) = try Self.connectClient(port: proxy.localAddress!.port!)
            defer { try? channel.close().wait() }

            // The client keeps its side open and sends more than the target takes.
            let (recorder, _) = try Self.openTunnel(
                client, on: channel, authority: "127.0.0.1:\(target.port)", payload: Command.randomBytes(1 << 20),
                end: false)
            let seen = try recorder.closed.futureResult.wait()
            #expect(seen.status == "200")
            #expect(seen.closedWith == .connectError)
        }
    }

    @Test func bridgesARealClientIntoTheMeshThroughBothSides() async throws {
        try await blocking {
            // curl → entry port → HTTP2Tunnel.connecting → CONNECT stream → proxy →
            // HTTP2Tunnel.accepting → weft-echo (HTTP/1.1 over the raw tunnel).
            let echo = try EchoServer.start(.init(port: 0), group: Self.group)
            defer { try? echo.close() }
            let proxy = try Self.startProxy()
            defer { try? proxy.close().wait() }
            let (channel, client) = try Self.connectClient(port: proxy.localAddress!.port!)
            defer { try? channel.close().wait() }

            let authority = "127.0.0.1:\(echo.port)"
            let entry = try ServerBootstrap(group: Self.group)
                .childChannelOption(.autoRead, value: true)
                .childChannelInitializer { accepted in
                    accepted.eventLoop.makeCompletedFuture {
                        let tunnel = try HTTP2Tunnel.connecting(channel: accepted)
                        _ = try client.value.openStream(
                            HTTP2Tunnel.requestHeaders(authority: authority), endStream: false, handler: tunnel)
                    }
                }
                .bind(host: "127.0.0.1", port: 0).wait()
            defer { try? entry.close().wait() }

            let body = String(repeating: "tunnel ", count: 20_000)
            let scratch = try Scratch()
            defer { scratch.cleanup() }
            try body.write(toFile: scratch.file("body"), atomically: true, encoding: .utf8)
            let result = try Command.curl([
                "--http1.1", "--data-binary", "@" + scratch.file("body"), "http://\(authority)/through",
                "--connect-to", "\(authority):127.0.0.1:\(entry.localAddress!.port!)",
            ])
            #expect(result.status == 0, "\(result.errors)")
            let report = try Command.object(result.output)
            #expect(report["path"] as? String == "/through")
            #expect(report["body"] as? String == body)
        }
    }

}
