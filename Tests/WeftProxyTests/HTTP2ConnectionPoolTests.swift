import Foundation
import NIOCore
import NIOPosix
import Testing
import WeftEcho
import WeftHTTP2
import WeftProxy
import WeftTestSupport

/// HTTP2ConnectionPool against real servers over loopback.
@Suite(.serialized) struct HTTP2ConnectionPoolTests {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    typealias Collector = HTTP2TestClient.Collector
    typealias Response = HTTP2TestClient.Response

    static func connector(port: Int) -> (any EventLoop) -> EventLoopFuture<any Channel> {
        { eventLoop in
            ClientBootstrap(group: eventLoop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            try HTTP2ConnectionHandler(clientConfiguration: HTTP2Configuration()))
                    }
                }
                .connect(host: "127.0.0.1", port: port)
        }
    }

    static func headers(_ path: String, method: String = "GET") -> [HTTP2Header] {
        [
            HTTP2Header(":method", method), HTTP2Header(":scheme", "http"), HTTP2Header(":authority", "echo"),
            HTTP2Header(":path", path),
        ]
    }

    /// Sends `count` GET requests at once through a new pool; returns the responses
    /// and how many connections the pool dialled.
    static func burst(port: Int, count: Int, configuration: HTTP2ConnectionPool.Configuration) throws -> (
        [Response], Int
    ) {
        let loop = group.next()
        return try loop.flatSubmit {
            let pool = HTTP2ConnectionPool(
                eventLoop: loop, configuration: configuration, connector: Self.connector(port: port))
            let responses = (0..<count).map { index -> EventLoopFuture<Response> in
                let collector = Collector(promise: loop.makePromise())
                let response = collector.promise.futureResult
                return pool.openStream(Self.headers("/r/\(index)"), endStream: true, handler: collector).flatMap { _ in
                    response
                }
            }
            return EventLoopFuture.whenAllSucceed(responses, on: loop).assumeIsolated().map { results in
                let opened = pool.connectionsOpened
                pool.close()
                return (results, opened)
            }.nonisolated()
        }.wait()
    }

    @Test func spreadsStreamsOverAsManyConnectionsAsNeeded() async throws {
        try await blocking {
            let server = try EchoServer.start(EchoServer.Configuration(port: 0), group: Self.group)
            defer { try? server.close() }
            var configuration = HTTP2ConnectionPool.Configuration()
            configuration.maximumStreamsPerConnection = 100
            configuration.maximumConnections = 4
            let (responses, opened) = try Self.burst(port: server.port, count: 250, configuration: configuration)
            #expect(responses.count == 250)
            #expect(responses.allSatisfy { $0.status == "200" && $0.closedWith == .noError })
            #expect(opened == 3)
        }
    }

    @Test func waitsInABoundedLineAndFailsFastBeyondIt() async throws {
        try await blocking {
            let server = try EchoServer.start(EchoServer.Configuration(port: 0), group: Self.group)
            defer { try? server.close() }
            var configuration = HTTP2ConnectionPool.Configuration()
            configuration.maximumConnections = 1
            configuration.maximumStreamsPerConnection = 2
            configuration.maximumWaiters = 3
            let loop = Self.group.next()
            let poolConfiguration = configuration
            let outcome = try loop.flatSubmit {
                let pool = HTTP2ConnectionPool(
                    eventLoop: loop, configuration: poolConfiguration, connector: Self.connector(port: server.port))
                // Six uploads that stay open (no END_STREAM yet). Until the connection is up
                // every request waits: three fit in the line, the other three are refused
                // at once. Then two get streams and one keeps waiting for a slot.
                let collectors = (0..<6).map { _ in Collector(promise: loop.makePromise()) }
                let opened = collectors.enumerated().map { index, collector in
                    let future = pool.openStream(
                        Self.headers("/u/\(index)", method: "POST"), endStream: false, handler: collector)
                    // A refused request's collector will never hear from a stream.
                    let promise = collector.promise
                    future.whenFailure { promise.fail($0) }
                    return future
                }
                let refused = opened[3...].map { $0.map { _ in "served" }.recover { "\($0)" } }
                let firstResponse = collectors[0].promise.futureResult
                return EventLoopFuture.whenAllSucceed(refused, on: loop).assumeIsolated().flatMap { refusals in
                    // Finish the first upload: its slot frees and the waiting third moves up.
                    opened[0].assumeIsolated().flatMap { stream in
                        stream.write(ByteBuffer(string: "done"), endStream: true)
                        return firstResponse
                    }.flatMap { first in
                        opened[2].assumeIsolated().map { stream in
                            (refusals, first.status, stream.id, pool.connectionsOpened)
                        }
                        .nonisolated()
                    }.nonisolated()
                }.always { _ in pool.close() }.nonisolated()
            }.wait()
            #expect(outcome.0 == ["exhausted", "exhausted", "exhausted"])
            #expect(outcome.1 == "200")
            #expect(outcome.3 == 1)
        }
    }

    @Test func dialsAFreshConnectionAfterTheServerGoesAway() async throws {
        try await blocking {
            // A server whose connections idle out after 200 ms: GOAWAY, then close.
            let serverConfiguration = {
                var configuration = HTTP2Configuration()
                configuration.idleTimeout = .milliseconds(200)
                return configuration
            }()
            final class Answer: HTTP2StreamHandler {
                func headersReceived(_ headers: [HTTP2Header], endStream: Bool, stream: HTTP2Stream) {
                    try? stream.respond([HTTP2Header(":status", "204")], endStream: true)
                }
                func dataReceived(_ data: ByteBuffer, endStream: Bool, stream: HTTP2Stream) {}
                func streamClosed(_ stream: HTTP2Stream, errorCode: HTTP2ErrorCode) {}
            }
            let server = try ServerBootstrap(group: Self.group)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            try HTTP2ConnectionHandler(configuration: serverConfiguration) { _ in Answer() })
                    }
                }
                .bind(host: "127.0.0.1", port: 0).wait()
            defer { try? server.close().wait() }
            let port = try #require(server.localAddress?.port)
            let loop = Self.group.next()
            let pool = try loop.submit {
                NIOLoopBound(
                    HTTP2ConnectionPool(eventLoop: loop, connector: Self.connector(port: port)), eventLoop: loop)
            }.wait()
            #expect(try Self.status(of: pool, on: loop) == "204")
            Thread.sleep(forTimeInterval: 0.6)  // the server idles the connection out
            #expect(try Self.status(of: pool, on: loop) == "204")
            #expect(try loop.submit { pool.value.connectionsOpened }.wait() == 2)
            try loop.submit { pool.value.close() }.wait()
        }
    }

    /// Sends GET / through the pool and returns the response status.
    static func status(of pool: NIOLoopBound<HTTP2ConnectionPool>, on loop: any EventLoop) throws -> String? {
        let response = loop.flatSubmit {
            let collector = Collector(promise: loop.makePromise())
            let result = collector.promise.futureResult
            return pool.value.openStream(Self.headers("/"), endStream: true, handler: collector).flatMap { _ in result }
        }
        return try response.wait().status
    }

    @Test func aFailedDialFailsTheWaitingRequests() async throws {
        try await blocking {
            let port = try TemporaryPostgres.freeLoopbackPort()  // nothing listens here
            let loop = Self.group.next()
            let result = try loop.flatSubmit {
                let pool = HTTP2ConnectionPool(eventLoop: loop, connector: Self.connector(port: port))
                let collector = Collector(promise: loop.makePromise())
                let promise = collector.promise
                return pool.openStream(Self.headers("/"), endStream: true, handler: collector)
                    .map { _ in "opened" }.recover { error in
                        promise.fail(error)
                        if case .connectFailed = error as? HTTP2ConnectionPool.Failure { return "connectFailed" }
                        return "\(error)"
                    }
            }.wait()
            #expect(result == "connectFailed")
        }
    }
}
