import NIOCore
import NIOEmbedded
import Testing
import WeftTestSupport

@testable import WeftHTTP2

/// Idle timeout, PING keepalive and graceful shutdown, on EmbeddedChannels with
/// virtual time.
@Suite struct HTTP2ConnectionLifecycleTests {
    /// Answers each request with a fixed body when told to.
    final class ManualResponder: HTTP2StreamHandler {
        var stream: HTTP2Stream?
        var closedWith: HTTP2ErrorCode?
        func headersReceived(_ headers: [HTTP2Header], endStream: Bool, stream: HTTP2Stream) { self.stream = stream }
        func dataReceived(_ data: ByteBuffer, endStream: Bool, stream: HTTP2Stream) {
            stream.consume(data.readableBytes)
        }
        func streamClosed(_ stream: HTTP2Stream, errorCode: HTTP2ErrorCode) { closedWith = errorCode }
        func answer() throws {
            try stream?.respond([HTTP2Header(":status", "200")], endStream: false)
            stream?.write(ByteBuffer(string: "done"), endStream: true)
        }
    }

    final class Server {
        let channel = EmbeddedChannel()
        let client: NGHTTP2Session
        var clientEvents: [HTTP2SessionEvent] = []
        var responders: [ManualResponder] = []

        init(_ configuration: HTTP2Configuration) throws {
            client = try NGHTTP2Session(role: .client)
            let handler = try HTTP2ConnectionHandler(configuration: configuration) { [unowned self] _ in
                let responder = ManualResponder()
                self.responders.append(responder)
                return responder
            }
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            try pump()
        }

        func pump() throws {
            try WeftHTTP2Tests.pump(client: client, channel: channel, events: &clientEvents)
        }

        func goAways() -> [(Int32, HTTP2ErrorCode)] {
            clientEvents.compactMap { event in
                if case .goAway(let last, let code) = event { return (last, code) } else { return nil }
            }
        }
    }

    static let request = [
        HTTP2Header(":method", "GET"), HTTP2Header(":scheme", "http"), HTTP2Header(":authority", "x"),
        HTTP2Header(":path", "/"),
    ]

    @Test func anIdleConnectionIsClosedGracefully() async throws {
        try await blocking {
            var configuration = HTTP2Configuration()
            configuration.idleTimeout = .seconds(10)
            let server = try Server(configuration)
            server.channel.embeddedEventLoop.advanceTime(by: .seconds(9))
            #expect(server.channel.isActive)
            server.channel.embeddedEventLoop.advanceTime(by: .seconds(2))
            try server.pump()
            #expect(server.goAways().map(\.1) == [.noError, .noError])
            #expect(!server.channel.isActive)
            finishClean(server.channel)
        }
    }

    @Test func openStreamsKeepAConnectionFromIdling() async throws {
        try await blocking {
            var configuration = HTTP2Configuration()
            configuration.idleTimeout = .seconds(10)
            let server = try Server(configuration)
            let id = try server.client.submitRequest(Self.request, endStream: true)
            try server.pump()
            server.channel.embeddedEventLoop.advanceTime(by: .seconds(30))
            #expect(server.channel.isActive)  // a stream is open: not idle
            try server.responders.first?.answer()
            try server.pump()
            #expect(server.clientEvents.contains { if case .streamClosed(id, .noError) = $0 { true } else { false } })
            // Idle from now on: closed ten seconds later, with GOAWAY.
            server.channel.embeddedEventLoop.advanceTime(by: .seconds(11))
            #expect(!server.channel.isActive)
            #expect(goAwayCodes(try writtenFrames(server.channel)) == [.noError, .noError])
            finishClean(server.channel)
        }
    }

    @Test func quiescingDrainsInFlightStreamsThenCloses() async throws {
        try await blocking {
            let server = try Server(HTTP2Configuration())
            let inFlight = try server.client.submitRequest(Self.request, endStream: true)
            try server.pump()
            server.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            try server.pump()
            // A first GOAWAY, then the final one naming the stream in flight.
            #expect(server.goAways().map(\.0) == [Int32.max, inFlight])
            #expect(server.channel.isActive)
            // The in-flight stream still completes; then the connection closes.
            try server.responders.first?.answer()
            try server.pump()
            #expect(
                server.clientEvents.contains { if case .streamClosed(inFlight, .noError) = $0 { true } else { false } })
            #expect(!server.channel.isActive)
            finishClean(server.channel)
        }
    }

    @Test func aDrainThatNeverFinishesIsCutAtTheDeadline() async throws {
        try await blocking {
            var configuration = HTTP2Configuration()
            configuration.gracefulShutdownTimeout = .seconds(5)
            let server = try Server(configuration)
            _ = try server.client.submitRequest(Self.request, endStream: true)
            try server.pump()
            server.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            server.channel.embeddedEventLoop.advanceTime(by: .seconds(4))
            #expect(server.channel.isActive)
            server.channel.embeddedEventLoop.advanceTime(by: .seconds(2))
            #expect(!server.channel.isActive)
            #expect(server.responders.first?.closedWith == .cancel)
            #expect(goAwayCodes(try writtenFrames(server.channel)) == [.noError, .noError])
            finishClean(server.channel)
        }
    }

    @Test func keepalivePingsAndClosesADeadPeer() async throws {
        try await blocking {
            var configuration = HTTP2Configuration()
            configuration.keepaliveInterval = .seconds(5)
            configuration.keepaliveTimeout = .seconds(2)
            configuration.idleTimeout = nil
            let channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandler(
                try HTTP2ConnectionHandler(clientConfiguration: configuration))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            let peer = try NGHTTP2Session(role: .server)
            func deliver() throws {
                while let bytes = try channel.readOutbound(as: ByteBuffer.self) { try peer.receive(bytes) }
            }
            try deliver()
            channel.embeddedEventLoop.advanceTime(by: .seconds(5))
            try deliver()
            #expect(peer.receivedFrames(.ping) > 0)
            // A live peer answers: the connection stays.
            try channel.writeInbound(try peer.drainOutput())
            // The answer (t=5) restarted the clock: past the old PING's deadline (t=7)
            // the connection stays.
            channel.embeddedEventLoop.advanceTime(by: .seconds(3))  // t=8
            #expect(channel.isActive)
            // The peer now goes silent: the next PING goes out at t=10 and its deadline
            // passes at t=12.
            channel.embeddedEventLoop.advanceTime(by: .seconds(2))  // t=10
            try deliver()
            #expect(peer.receivedFrames(.ping) == 2)
            #expect(channel.isActive)
            channel.embeddedEventLoop.advanceTime(by: .seconds(3))  // t=13
            #expect(!channel.isActive)
            #expect {
                try channel.throwIfErrorCaught()
            } throws: { error in
                (error as? HTTP2Error)?.reason.contains("did not answer a PING") == true
            }
            finishClean(channel)
        }
    }
}
