public import NIOCore
import NIOPosix
public import WeftHTTP2
import WeftProxy
public import WeftTLS

/// weft-echo's server: answers every request with what it received. One port
/// serves HTTP/1.1 and HTTP/2 with prior knowledge in cleartext, or, with TLS,
/// whichever protocol ALPN selects (`h2`, `http/1.1`).
public final class EchoServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// TLS for every connection when set. Its ALPN list should hold `h2` and
        /// `http/1.1`; client certificates are required if it says so.
        public var tls: TLSConfiguration?
        /// Sent back in `x-echo-name` on every report, so a test or demo can tell
        /// which of several instances answered.
        public var name: String?
        /// How long every report waits before it is sent (a slow instance, for
        /// tests and demos of latency-aware balancing).
        public var delay: TimeAmount?
        /// The status of every report (an instance that fails, for tests and
        /// demos of retries and outlier detection).
        public var status: Int

        public init(
            host: String = "127.0.0.1", port: Int = 8080, tls: TLSConfiguration? = nil, name: String? = nil,
            delay: TimeAmount? = nil, status: Int = 200
        ) {
            self.host = host
            self.port = port
            self.tls = tls
            self.name = name
            self.delay = delay
            self.status = status
        }
    }

    public let channel: any Channel
    /// The open connections, drained by `shutdown`.
    public let connections: ConnectionDrainer

    private init(channel: any Channel, connections: ConnectionDrainer) {
        self.channel = channel
        self.connections = connections
    }

    /// The port actually bound (useful with port 0).
    public var port: Int { channel.localAddress?.port ?? 0 }

    public static func start(_ configuration: Configuration, group: any EventLoopGroup) throws -> EchoServer {
        let tlsContext = try configuration.tls.map { configuration throws(TLSError) in try TLSContext(configuration) }
        let connections = ConnectionDrainer()
        let behaviour = EchoBehaviour(
            name: configuration.name, delay: configuration.delay, status: configuration.status)
        let channel = try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                connections.track(channel)
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tlsContext {
                        try pipeline.addHandler(try TLSHandler(context: tlsContext))
                        try pipeline.addHandler(EchoPipeline.router(behaviour: behaviour))
                    } else {
                        try pipeline.addHandler(EchoPipeline.sniffer(behaviour: behaviour))
                    }
                    try pipeline.addHandler(CloseOnErrorHandler())
                }
            }
            .bind(host: configuration.host, port: configuration.port).wait()
        return EchoServer(channel: channel, connections: connections)
    }

    /// Stops accepting; open connections are closed with the event loop group.
    public func close() throws {
        try channel.close().wait()
    }

    /// Graceful shutdown: stops accepting, lets open connections finish what is in
    /// flight (HTTP/2 GOAWAY, HTTP/1.1 after the current response), and closes
    /// whatever is left after `deadline`.
    public func shutdown(deadline: TimeAmount) -> EventLoopFuture<Void> {
        let eventLoop = channel.eventLoop
        return channel.close().flatMapError { _ in eventLoop.makeSucceededVoidFuture() }.flatMap { [connections] in
            connections.drain(deadline: deadline, on: eventLoop)
        }
    }
}

/// What every report of a weft-echo carries besides the echo: its name, a delay,
/// a status.
struct EchoBehaviour: Sendable {
    var name: String?
    var delay: TimeAmount?
    var status = 200
}
