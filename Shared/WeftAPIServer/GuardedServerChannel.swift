public import HummingbirdCore
public import Logging
public import NIOCore
import Synchronization

/// Limits a control-plane API puts on its callers before any request is read:
/// at most `maximumConnections` open at once (more are closed as they arrive,
/// so a flood sheds cleanly instead of queueing), and a request head that must
/// arrive whole within `headerReadTimeout` of the connection opening (a client
/// trickling a header a byte at a time — slowloris — is cut off). Hummingbird's
/// idle timeout covers connections that go quiet after that.
public struct ConnectionLimits: Sendable {
    public var maximumConnections: Int
    public var headerReadTimeout: TimeAmount

    public init(maximumConnections: Int = 10_000, headerReadTimeout: TimeAmount = .seconds(10)) {
        self.maximumConnections = maximumConnections
        self.headerReadTimeout = headerReadTimeout
    }
}

/// Puts `ConnectionLimits` in front of an HTTP child channel (inside TLS, when
/// there is TLS, so that it reads the plaintext). One instance per listener:
/// the open-connection count is this listener's.
public struct GuardedServerChannel<Base: ServerChildChannel>: ServerChildChannel {
    public typealias Value = Base.Value

    let base: Base
    let limits: ConnectionLimits
    let open = ConnectionCount()
    let logger: Logger

    public init(_ base: Base, limits: ConnectionLimits, logger: Logger) {
        self.base = base
        self.limits = limits
        self.logger = logger
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let count = open.increment()
        let open = self.open
        channel.closeFuture.whenComplete { _ in open.decrement() }
        let refused = count > limits.maximumConnections
        if refused && open.shouldLog() {
            self.logger.warning(
                "connection refused: \(count - 1) open, the limit is \(limits.maximumConnections) (logged at most every 10 s)"
            )
        }
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                HeadDeadline(timeout: refused ? .zero : limits.headerReadTimeout))
        }.flatMap {
            // A refused connection is set up like any other and closed on the
            // next tick: a failed setup would end the server's accept loop.
            base.setup(channel: channel, logger: logger)
        }
    }

    public func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension GuardedServerChannel: HTTPChannelHandler where Base: HTTPChannelHandler {
    public var responder: HTTPChannelHandler.Responder { base.responder }
}

/// A listener's open connections.
final class ConnectionCount: Sendable {
    private let value = Atomic<Int>(0)
    private let lastLogged = Atomic<Int64>(0)
    func increment() -> Int { value.add(1, ordering: .relaxed).newValue }
    func decrement() { value.subtract(1, ordering: .relaxed) }

    /// True at most once every 10 s: a flood of refusals logs one line, not one per connection.
    func shouldLog() -> Bool {
        let now = NIODeadline.now().uptimeNanoseconds / 1_000_000_000
        let last = lastLogged.load(ordering: .relaxed)
        guard last == 0 || now >= UInt64(last) + 10 else { return false }
        return lastLogged.compareExchange(expected: last, desired: Int64(now), ordering: .relaxed).exchanged
    }
}

/// Closes the connection unless the first request head (up to its blank line)
/// has arrived within `timeout`; then steps aside.
final class HeadDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// The last bytes seen, to find `\r\n\r\n` across reads.
    private var tail: [UInt8] = []
    private var done = false

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            loopBound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !done {
            let buffer = unwrapInboundIn(data)
            buffer.withUnsafeReadableBytes { bytes in
                for byte in bytes {
                    tail.append(byte)
                    if tail.count > 4 { tail.removeFirst() }
                    if tail == [13, 10, 13, 10] || tail.suffix(2) == [10, 10] {
                        done = true
                        break
                    }
                }
            }
            if done {
                timer?.cancel()
                context.fireChannelRead(data)
                context.pipeline.syncOperations.removeHandler(self, promise: nil)
                return
            }
        }
        context.fireChannelRead(data)
    }
}
