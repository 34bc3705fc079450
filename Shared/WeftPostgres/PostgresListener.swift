import NIOPosix
import Synchronization

/// LISTEN on a dedicated connection, kept alive across server restarts.
///
/// `run` connects, listens on the channels, reports `.connected`, then delivers
/// each notification as `.notification`. When the connection breaks it reconnects
/// with backoff (doubling from `reconnectBackoffInitial` to
/// `reconnectBackoffMaximum`) and reports `.connected` again. Notifications sent
/// while it was away are lost (PostgreSQL does not queue them for a closed
/// session), so a consumer must treat `.connected` as "re-read everything"; that
/// is how a watcher never misses a change.
///
/// The blocking waits (at most `pollInterval` each) run on the listener's own
/// thread, and cancellation of the task running `run` is noticed between them.
public final class PostgresListener: Sendable {
    public enum Event: Sendable, Equatable {
        /// Listening (again): anything may have changed while not listening.
        case connected
        case notification(PostgresNotification)
        /// The connection failed; the next attempt follows after `retryIn`.
        case disconnected(reason: String, retryIn: Duration)
    }

    public struct Configuration: Sendable {
        public var url: String
        public var channels: [String]
        public var connectTimeoutSeconds = 5
        public var pollInterval: Duration = .milliseconds(250)
        public var reconnectBackoffInitial: Duration = .milliseconds(100)
        public var reconnectBackoffMaximum: Duration = .seconds(5)

        public init(url: String, channels: [String]) {
            self.url = url
            self.channels = channels
        }
    }

    /// The connection, used by one wait at a time on the listener's thread.
    private final class Held: @unchecked Sendable {
        let connection: PostgresConnection
        init(_ connection: PostgresConnection) { self.connection = connection }
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) throws(PostgresError) {
        for channel in configuration.channels where !PostgresConnection.isChannelName(channel) {
            throw PostgresError(.statementFailed, message: "invalid channel name \(channel.prefix(70))")
        }
        self.configuration = configuration
    }

    /// Listens until the calling task is cancelled, handing every event to
    /// `onEvent` in order.
    public func run(onEvent: @Sendable (Event) async -> Void) async {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        defer { thread.shutdownGracefully { _ in } }
        let configuration = self.configuration
        let pollMilliseconds = Int32(clamping: configuration.pollInterval.wholeMilliseconds)
        let backoff = ReconnectBackoff(
            initial: configuration.reconnectBackoffInitial, maximum: configuration.reconnectBackoffMaximum)
        var failures = 0
        while !Task.isCancelled {
            do {
                let held = try await thread.runIfActive {
                    let connection = try PostgresConnection(
                        url: configuration.url, connectTimeoutSeconds: configuration.connectTimeoutSeconds)
                    for channel in configuration.channels { try connection.listen(channel) }
                    return Held(connection)
                }
                failures = 0
                await onEvent(.connected)
                while !Task.isCancelled {
                    let notifications = try await thread.runIfActive {
                        try held.connection.waitForNotifications(timeoutMilliseconds: pollMilliseconds)
                    }
                    for notification in notifications { await onEvent(.notification(notification)) }
                }
            } catch {
                if Task.isCancelled { break }
                failures += 1
                let delay = backoff.delay(afterFailures: failures)
                await onEvent(.disconnected(reason: "\(error)", retryIn: delay))
                try? await Task.sleep(for: delay)
            }
        }
    }
}
