import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// One keep-alive HTTP/1.1 connection with one request in flight at a time.
final class Connection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    static var token = ""
    static var defaultPort = 0
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    var channel: (any Channel)!
    var status = 0
    /// The registry version the last response carried (`X-Weft-Index`), or 0.
    var index = 0
    var body = ByteBuffer()
    var onResponse: ((Int, ByteBuffer) -> Void)?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            index = head.headers.first(name: "X-Weft-Index").flatMap { Int($0) } ?? 0
            body.clear()
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            let callback = onResponse
            onResponse = nil
            callback?(status, body)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let callback = onResponse
        onResponse = nil
        callback?(0, ByteBuffer(string: "\(error)"))
        context.close(promise: nil)
    }

    /// Sends a request; `done` runs on the connection's event loop.
    func send(_ method: HTTPMethod, _ path: String, body: String?, done: @escaping (Int, ByteBuffer) -> Void) {
        channel.eventLoop.execute {
            self.onResponse = done
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: "127.0.0.1")
            headers.add(name: "Authorization", value: "Bearer \(Connection.token)")
            let bytes = body.map { ByteBuffer(string: $0) }
            headers.add(name: "Content-Length", value: String(bytes?.readableBytes ?? 0))
            if bytes != nil { headers.add(name: "Content-Type", value: "application/json") }
            self.channel.write(
                HTTPClientRequestPart.head(
                    HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)),
                promise: nil)
            if let bytes { self.channel.write(HTTPClientRequestPart.body(.byteBuffer(bytes)), promise: nil) }
            self.channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
    }

    static func open(port: Int = defaultPort) throws -> Connection {
        let connection = Connection()
        connection.channel = try ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.pipeline.addHTTPClientHandlers().flatMap { channel.pipeline.addHandler(connection) }
            }
            .connect(host: "127.0.0.1", port: port).wait()
        return connection
    }
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}
