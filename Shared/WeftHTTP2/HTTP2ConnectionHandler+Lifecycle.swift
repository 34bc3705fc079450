/// The HTTP/2 connection handler's lifecycle as a plain state machine: each event
/// returns what the handler must do, so the rules (when a connection may open
/// streams, when it is idle, how a graceful shutdown ends, when a keepalive PING
/// is owed, when output is written) are tested without a channel.
///
///     open ─peer GOAWAY→ goingAway
///       │                   │
///       └── shutdown ───────┴──→ shuttingDown ─last stream / deadline→ closed
///
/// `closed` is also reached from anywhere when the channel goes inactive.
struct HTTP2ConnectionLifecycle {
    enum State: Equatable {
        /// Streams may be opened.
        case open
        /// The peer sent GOAWAY: no new streams on this connection; those open finish.
        case goingAway
        /// We began a graceful shutdown: no new streams; close when the last ends.
        case shuttingDown
        case closed
    }

    let isServer: Bool
    let hasIdleTimeout: Bool
    private(set) var state: State = .open
    private(set) var openStreams = 0
    /// Idle, keepalive and PING-timeout clocks that are running.
    private(set) var idleTimerRunning = false
    private(set) var pingOutstanding = false
    /// Inside a read (until channelReadComplete): output waits for its end.
    private(set) var reading = false
    private(set) var flushScheduled = false

    init(isServer: Bool, hasIdleTimeout: Bool) {
        self.isServer = isServer
        self.hasIdleTimeout = hasIdleTimeout
    }

    // MARK: Streams

    /// Why a stream may not be opened now, or nil when it may.
    var refusalReason: String? {
        switch state {
        case .open: return nil
        case .goingAway: return "the peer sent GOAWAY; open a new connection"
        case .shuttingDown: return "the connection is shutting down"
        case .closed: return "the connection is closed"
        }
    }

    enum StreamsAction: Equatable {
        case none
        case cancelIdleTimer
        case startIdleTimer
        /// The last stream of a graceful shutdown ended.
        case close
    }

    mutating func streamOpened() -> StreamsAction {
        openStreams += 1
        guard idleTimerRunning else { return .none }
        idleTimerRunning = false
        return .cancelIdleTimer
    }

    mutating func streamClosed() -> StreamsAction {
        openStreams = max(0, openStreams - 1)
        return becameQuiet()
    }

    /// The connection became usable (active, or added to an active channel).
    mutating func activated() -> StreamsAction {
        becameQuiet()
    }

    private mutating func becameQuiet() -> StreamsAction {
        guard openStreams == 0 else { return .none }
        switch state {
        case .shuttingDown:
            state = .closed
            return .close
        case .open, .goingAway:
            guard hasIdleTimeout, !idleTimerRunning else { return .none }
            idleTimerRunning = true
            return .startIdleTimer
        case .closed:
            return .none
        }
    }

    enum IdleAction: Equatable {
        case none
        case beginGracefulShutdown
    }

    mutating func idleTimerFired() -> IdleAction {
        idleTimerRunning = false
        guard openStreams == 0, state == .open || state == .goingAway else { return .none }
        return .beginGracefulShutdown
    }

    // MARK: GOAWAY and graceful shutdown

    /// The peer's GOAWAY arrived.
    mutating func peerWentAway() {
        if state == .open { state = .goingAway }
    }

    var peerHasGoneAway: Bool { state == .goingAway }

    enum ShutdownAction: Equatable {
        case none
        /// Send our GOAWAYs when `sendGoAway` (servers: a notice, then the final
        /// one), start the deadline, and close now when `closeNow`.
        case shutDown(sendGoAway: Bool, closeNow: Bool)
    }

    mutating func beginGracefulShutdown() -> ShutdownAction {
        guard state == .open || state == .goingAway else { return .none }
        state = .shuttingDown
        let closeNow = openStreams == 0
        if closeNow { state = .closed }
        return .shutDown(sendGoAway: isServer, closeNow: closeNow)
    }

    var isShuttingDown: Bool { state == .shuttingDown || state == .closed }

    enum DeadlineAction: Equatable {
        case none
        case close
    }

    mutating func shutdownDeadlineFired() -> DeadlineAction {
        guard state == .shuttingDown else { return .none }
        state = .closed
        return .close
    }

    mutating func channelInactive() {
        state = .closed
        idleTimerRunning = false
        pingOutstanding = false
    }

    // MARK: Keepalive

    enum KeepaliveAction: Equatable {
        case none
        /// Send a PING and start its timeout.
        case sendPing
    }

    mutating func keepaliveTimerFired() -> KeepaliveAction {
        guard !pingOutstanding, state != .closed else { return .none }
        pingOutstanding = true
        return .sendPing
    }

    /// Our keepalive PING came back: cancel its timeout.
    mutating func pingAcknowledged() -> Bool {
        defer { pingOutstanding = false }
        return pingOutstanding
    }

    enum PingTimeoutAction: Equatable {
        case none
        /// The peer is gone: report and close.
        case failAndClose
    }

    mutating func pingTimedOut() -> PingTimeoutAction {
        guard pingOutstanding, state != .closed else { return .none }
        pingOutstanding = false
        state = .closed
        return .failAndClose
    }

    // MARK: Output

    mutating func readBegan() {
        reading = true
    }

    enum FlushAction: Equatable {
        case none
        case flushNow
    }

    /// The turn's reads are done: write what they produced.
    mutating func readCompleted() -> FlushAction {
        reading = false
        return .flushNow
    }

    enum OutputAction: Equatable {
        /// A read is in progress, or a flush is already scheduled: it will carry this.
        case none
        /// Schedule one flush at the end of this event-loop turn.
        case scheduleFlush
    }

    /// The application asked for output (a write, a response, a consume).
    mutating func outputRequested() -> OutputAction {
        guard !reading, !flushScheduled else { return .none }
        flushScheduled = true
        return .scheduleFlush
    }

    /// The scheduled flush runs now.
    mutating func scheduledFlushRuns() -> FlushAction {
        flushScheduled = false
        return reading ? .none : .flushNow
    }

    /// A failed read: what nghttp2 queued (its GOAWAY) goes out at once.
    mutating func readFailed() -> FlushAction {
        reading = false
        return .flushNow
    }
}
