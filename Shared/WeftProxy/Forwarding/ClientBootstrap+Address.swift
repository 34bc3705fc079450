import NIOCore
import NIOPosix

extension ClientBootstrap {
    /// Connects to an IP literal directly, and to a name through NIO's resolver:
    /// endpoints in snapshots and the local application are nearly always IP
    /// literals, and a resolver run (a thread hop for getaddrinfo, Happy Eyeballs)
    /// per new connection cost a third of a sidecar's CPU when connections churned.
    func connect(endpoint host: String, port: Int) -> EventLoopFuture<any Channel> {
        if let address = try? SocketAddress(ipAddress: host, port: port) {
            return connect(to: address)
        }
        return connect(host: host, port: port)
    }
}
