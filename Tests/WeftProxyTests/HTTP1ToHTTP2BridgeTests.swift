import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import WeftEcho
import WeftHTTP2
import WeftProtocol
import WeftTestSupport

@testable import WeftProxy

/// HTTP1ToHTTP2Bridge with real peers: curl speaks HTTP/1.1 to the bridge, which
/// carries each request over an HTTP2ConnectionPool to weft-echo (h2c).
@Suite(.serialized) struct HTTP1ToHTTP2BridgeTests {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// Runs a bridge on a free port whose upstream is `upstreamPort`, reached as
    /// a sidecar reaches its h2c application (a plan with no retries).
    static func withBridge<T>(upstreamPort: Int, _ body: (Int) throws -> T) throws -> T {
        let loop = group.next()
        let proxy = try loop.submit {
            let snapshot = ProxySnapshot(
                try DiscoverySnapshot(version: 1, generatedAt: Timestamp(secondsSinceEpoch: 0)))
            let application = LocalApplication(host: "127.0.0.1", port: upstreamPort, protocolKind: .http2)
            return NIOLoopBound(
                ProxyLoop(
                    eventLoop: loop, snapshot: snapshot, mesh: nil,
                    poolConfiguration: HTTP2ConnectionPool.Configuration(), application: application),
                eventLoop: loop)
        }.wait()
        defer { try? loop.submit { proxy.value.drain() }.wait() }
        let server = try ServerBootstrap(group: loop)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try pipeline.addHandler(
                        HTTP1ToHTTP2Bridge { headers, endStream in
                            .success(
                                ForwardingPlan(
                                    loop: proxy.value, target: .application, headers: headers, endStream: endStream,
                                    method: headers[first: ":method"] ?? "GET", name: "the upstream", grpc: false))
                        })
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? server.close().wait() }
        return try body(server.localAddress!.port!)
    }

    static func withEchoAndBridge<T>(_ body: (Int) throws -> T) throws -> T {
        let echo = try EchoServer.start(.init(port: 0), group: HTTP2TestClient.group)
        defer { try? echo.close() }
        return try withBridge(upstreamPort: echo.port, body)
    }

    static let curl = Command.curl
    static let report = Command.object

    @Test func streamsAChunkedUploadAndAChunkedResponseIntact() async throws {
        try await blocking {
            let scratch = try Scratch()
            defer { scratch.cleanup() }
            let payload = Command.randomBytes(3 << 20)
            try Data(payload).write(to: URL(fileURLWithPath: scratch.file("up")))
            try Self.withEchoAndBridge { port in
                let result = try Self.curl([
                    "--http1.1", "-H", "Transfer-Encoding: chunked", "-H", "x-echo-stream: 1",
                    "--data-binary", "@" + scratch.file("up"), "-o", scratch.file("down"), "-D", scratch.file("head"),
                    "http://127.0.0.1:\(port)/upload",
                ])
                #expect(result.status == 0, "\(result.errors)")
                let head = try String(contentsOfFile: scratch.file("head"), encoding: .utf8).lowercased()
                // curl asks `Expect: 100-continue` for big uploads; the bridge says go on.
                #expect(head.hasPrefix("http/1.1 100 continue"))
                #expect(head.contains("http/1.1 200"))
                #expect(head.contains("transfer-encoding: chunked"), "\(head)")
                #expect(head.contains("x-echo-method: post"))
                let down = try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch.file("down"))))
                #expect(down.count == payload.count)
                #expect(down == payload)
            }
        }
    }

    @Test func translatesHeadersAndAnswersExpectContinueItself() async throws {
        try await blocking {
            try Self.withEchoAndBridge { port in
                let result = try Self.curl([
                    "--http1.1", "-H", "Host: orders.mesh:8080", "-H", "Connection: keep-alive, x-hop",
                    "-H", "x-hop: secret", "-H", "Keep-Alive: timeout=5", "-H", "Expect: 100-continue",
                    "-H", "x-firmware-version: 2.1.0", "-H", "TE: trailers, deflate", "-d", "x=1",
                    "http://127.0.0.1:\(port)/orders?id=7",
                ])
                #expect(result.status == 0, "\(result.errors)")
                let report = try Self.report(result.output)
                #expect(report["protocol"] as? String == "h2")
                #expect(report["authority"] as? String == "orders.mesh:8080")
                #expect(report["path"] as? String == "/orders?id=7")
                #expect(report["body"] as? String == "x=1")
                let names = Set(((report["headers"] as? [[String]]) ?? []).map { $0[0] })
                #expect(names.contains("x-firmware-version"))
                for hop in ["connection", "x-hop", "keep-alive", "expect", "host"] {
                    #expect(!names.contains(hop), "\(hop) crossed")
                }
                #expect(((report["headers"] as? [[String]]) ?? []).contains(["te", "trailers"]))
            }
        }
    }

    @Test func keepsTheConnectionForTheNextRequest() async throws {
        try await blocking {
            try Self.withEchoAndBridge { port in
                let result = try Self.curl([
                    "--http1.1", "-w", "connects=%{num_connects}\n", "-o", "/dev/null", "http://127.0.0.1:\(port)/a",
                    "-o", "/dev/null", "http://127.0.0.1:\(port)/b",
                ])
                #expect(result.status == 0, "\(result.errors)")
                #expect(result.output == "connects=1\nconnects=0\n")
            }
        }
    }

    @Test func answersBadRequestsItself() async throws {
        try await blocking {
            try Self.withEchoAndBridge { port in
                // HTTP/1.1 without Host (curl drops it when given an empty one).
                let noHost = try Self.curl([
                    "--http1.1", "-H", "Host:", "-w", "%{http_code}", "http://127.0.0.1:\(port)/",
                ])
                #expect(noHost.output.hasSuffix("400"))
                #expect(noHost.output.contains("the request has no Host header"))
                let connect = try Self.curl([
                    "--http1.1", "-X", "CONNECT", "-w", "%{http_code}", "http://127.0.0.1:\(port)/",
                ])
                #expect(connect.output.hasSuffix("400"))
            }
        }
    }

    /// A refused connection means nothing was sent: 503 connect-failed (as Envoy's
    /// UF), which retries may treat as safe.
    @Test func reportsAnUnreachableUpstreamAsUnavailable() async throws {
        try await blocking {
            let closed = 1  // tcpmux: nothing listens there
            try Self.withBridge(upstreamPort: closed) { port in
                let result = try Self.curl(["--http1.1", "-w", "%{http_code}", "-d", "x", "http://127.0.0.1:\(port)/"])
                #expect(
                    result.output.hasSuffix("503") && result.output.contains("application-unavailable"),
                    "\(result.output)")
                // And the bridge is still there for the next one.
                let again = try Self.curl(["--http1.1", "-w", "%{http_code}", "http://127.0.0.1:\(port)/"])
                #expect(again.output.hasSuffix("503"))
            }
        }
    }

    // MARK: Trailers and truncation, with a scripted upstream and a raw client

    /// An upstream stream that records the request and answers as scripted: a head,
    /// "abc", then trailers, or a reset instead of the end when `cut`.
    final class ScriptedUpstream: HTTP2StreamHandler {
        let seen: NIOLockedValueBox<[HTTP2Header]>
        let cut: Bool
        init(seen: NIOLockedValueBox<[HTTP2Header]>, cut: Bool) {
            self.seen = seen
            self.cut = cut
        }

        func headersReceived(_ headers: [HTTP2Header], endStream: Bool, stream: HTTP2Stream) {
            seen.withLockedValue { $0 += headers }
            if endStream { answer(stream) }
        }

        func dataReceived(_ data: ByteBuffer, endStream: Bool, stream: HTTP2Stream) {
            seen.withLockedValue { $0.append(HTTP2Header("body", String(buffer: data))) }
            stream.consume(data.readableBytes)
            if endStream { answer(stream) }
        }

        func streamClosed(_ stream: HTTP2Stream, errorCode: HTTP2ErrorCode) {}

        private func answer(_ stream: HTTP2Stream) {
            try? stream.respond([HTTP2Header(":status", "200"), HTTP2Header("x-kind", "scripted")], endStream: false)
            stream.write(ByteBuffer(string: "abc"))
            if cut {
                stream.reset(.internalError)
            } else {
                try? stream.writeTrailers([HTTP2Header("grpc-status", "0")])
            }
        }
    }

    static func withScriptedUpstream<T>(cut: Bool, _ body: (Int, NIOLockedValueBox<[HTTP2Header]>) throws -> T) throws
        -> T
    {
        let seen = NIOLockedValueBox<[HTTP2Header]>([])
        let server = try ServerBootstrap(group: HTTP2TestClient.group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        try HTTP2ConnectionHandler { _ in ScriptedUpstream(seen: seen, cut: cut) })
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? server.close().wait() }
        return try body(server.localAddress!.port!, seen)
    }

    /// Sends `request` as raw bytes and returns everything read until the server closes.
    static func rawExchange(port: Int, _ request: String) throws -> String {
        let received = NIOLockedValueBox("")
        let channel = try ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RawCollector(received: received))
                }
            }
            .connect(host: "127.0.0.1", port: port).wait()
        try channel.writeAndFlush(ByteBuffer(string: request)).wait()
        let closed = channel.closeFuture
        let timeout = channel.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
        try? closed.wait()
        timeout.cancel()
        return received.withLockedValue { $0 }
    }

    final class RawCollector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received: NIOLockedValueBox<String>
        init(received: NIOLockedValueBox<String>) { self.received = received }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let text = String(buffer: unwrapInboundIn(data))
            received.withLockedValue { $0 += text }
        }
    }

    @Test func carriesTrailersBothWays() async throws {
        try await blocking {
            try Self.withScriptedUpstream(cut: false) { upstream, seen in
                try Self.withBridge(upstreamPort: upstream) { port in
                    let response = try Self.rawExchange(
                        port: port,
                        "POST /t HTTP/1.1\r\nHost: svc\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n"
                            + "Connection: close\r\n\r\n3\r\nabc\r\n0\r\nx-checksum: 42\r\n\r\n")
                    let lowered = response.lowercased()
                    #expect(lowered.hasPrefix("http/1.1 200 ok\r\n"), "\(response)")
                    #expect(lowered.contains("transfer-encoding: chunked"))
                    #expect(lowered.hasSuffix("3\r\nabc\r\n0\r\ngrpc-status: 0\r\n\r\n"), "\(response)")
                    let request = seen.withLockedValue { $0 }
                    #expect(request.contains(HTTP2Header(":authority", "svc")))
                    #expect(request.contains(HTTP2Header("body", "abc")))
                    #expect(request.contains(HTTP2Header("x-checksum", "42")))
                    #expect(!request.contains { $0.name == "connection" || $0.name == "transfer-encoding" })
                }
            }
        }
    }

    @Test func aResponseCutUpstreamClosesTheConnectionWithoutTheLastChunk() async throws {
        try await blocking {
            try Self.withScriptedUpstream(cut: true) { upstream, _ in
                try Self.withBridge(upstreamPort: upstream) { port in
                    let response = try Self.rawExchange(port: port, "GET /t HTTP/1.1\r\nHost: svc\r\n\r\n")
                    #expect(response.lowercased().hasPrefix("http/1.1 200 ok\r\n"), "\(response)")
                    // Keep-alive was asked for, yet the connection closed, and the
                    // chunked body never got its terminating chunk: a visible truncation.
                    #expect(!response.hasSuffix("0\r\n\r\n"), "\(response)")
                }
            }
        }
    }
}
