public import NIOCore
import NIOPosix
public import WeftHTTP2
import WeftService

/// One listening socket of a proxy and the connections it accepted: `configure`
/// builds each connection's pipeline; `shutdown` stops accepting, asks every
/// connection to finish what is in flight (HTTP/2 GOAWAY, HTTP/1.1 after the
/// current response), and closes what remains at the deadline.
public final class ProxyListener: Sendable {
    public let channel: any Channel
    public let connections: ConnectionDrainer
    public let name: String

    public var port: Int { channel.localAddress?.port ?? 0 }

    private init(name: String, channel: any Channel, connections: ConnectionDrainer) {
        self.name = name
        self.channel = channel
        self.connections = connections
    }

    /// - Parameter maximumConnections: past it, a new connection is closed as it
    ///   arrives (nil: no limit), so a flood of idle connections cannot take
    ///   every descriptor from the clients that send requests.
    public static func bind(
        name: String, host: String, port: Int, group: any EventLoopGroup, maximumConnections: Int? = nil,
        configure: @escaping @Sendable (any Channel) throws -> Void
    ) -> EventLoopFuture<ProxyListener> {
        let connections = ConnectionDrainer()
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: Int32(SystemLimits.listenBacklog))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                if let maximumConnections, connections.count >= maximumConnections {
                    // Set up, then closed: failing the initializer would stop NIO's
                    // accepting altogether.
                    channel.close(promise: nil)
                    return channel.eventLoop.makeSucceededVoidFuture()
                }
                connections.track(channel)
                return channel.eventLoop.makeCompletedFuture { try configure(channel) }
            }
            .bind(host: host, port: port)
            .map { ProxyListener(name: name, channel: $0, connections: connections) }
    }

    public func shutdown(deadline: TimeAmount) -> EventLoopFuture<Void> {
        let eventLoop = channel.eventLoop
        return channel.close().flatMapError { _ in eventLoop.makeSucceededVoidFuture() }.flatMap { [connections] in
            connections.drain(deadline: deadline, on: eventLoop)
        }
    }
}
