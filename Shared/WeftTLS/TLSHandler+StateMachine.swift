/// The TLS handler's lifecycle as a plain state machine: each event returns the
/// action the handler must perform, so the rules (what may be written when, how a
/// close unfolds) are tested without a channel.
///
///     idle ─active→ handshaking ─done→ active ─close→ closing ─inactive→ closed
///                        │ failed/timeout                  ↑ close_notify received
///                        └──────────────→ closed ←─────────┘
struct TLSHandlerStateMachine {
    enum State: Equatable {
        case idle
        case handshaking
        case active
        /// We sent close_notify (or received one) and are waiting for the close.
        case closing
        case closed
    }

    private(set) var state: State = .idle

    enum HandshakeStartAction: Equatable {
        case startHandshake
        case none
    }

    mutating func channelActive() -> HandshakeStartAction {
        guard state == .idle else { return .none }
        state = .handshaking
        return .startHandshake
    }

    enum ReadAction: Equatable {
        /// Feed the bytes to OpenSSL and continue the handshake.
        case continueHandshake
        /// Feed the bytes to OpenSSL and read application data.
        case decrypt
        /// Discard: the connection is closing or closed.
        case ignore
    }

    mutating func channelRead() -> ReadAction {
        switch state {
        case .idle:
            // Bytes before channelActive (a handler added to an active channel).
            state = .handshaking
            return .continueHandshake
        case .handshaking: return .continueHandshake
        case .active: return .decrypt
        case .closing, .closed: return .ignore
        }
    }

    enum HandshakeCompletedAction: Equatable {
        /// Announce the handshake, then encrypt and flush the writes held back.
        case announceAndFlushBufferedWrites
        case none
    }

    mutating func handshakeCompleted() -> HandshakeCompletedAction {
        guard state == .handshaking else { return .none }
        state = .active
        return .announceAndFlushBufferedWrites
    }

    enum FailureAction: Equatable {
        /// Report the error, fail held writes, close the channel.
        case failAndClose
        case none
    }

    mutating func handshakeFailed() -> FailureAction {
        guard state == .handshaking || state == .idle else { return .none }
        state = .closed
        return .failAndClose
    }

    mutating func handshakeTimedOut() -> FailureAction {
        handshakeFailed()
    }

    /// A record that cannot be decrypted after the handshake.
    mutating func protocolFailure() -> FailureAction {
        guard state != .closed else { return .none }
        state = .closed
        return .failAndClose
    }

    enum WriteAction: Equatable {
        /// Hold until the handshake completes.
        case buffer
        case encrypt
        /// Fail the write's promise: the connection is closing.
        case fail
    }

    func write() -> WriteAction {
        switch state {
        case .idle, .handshaking: return .buffer
        case .active: return .encrypt
        case .closing, .closed: return .fail
        }
    }

    enum CloseAction: Equatable {
        /// Send close_notify, then close the channel.
        case sendCloseNotifyAndClose
        /// No session to shut down: close at once (failing held writes).
        case closeNow
        /// Already closing: just forward the close.
        case forward
    }

    mutating func closeRequested() -> CloseAction {
        switch state {
        case .active:
            state = .closing
            return .sendCloseNotifyAndClose
        case .idle, .handshaking:
            state = .closed
            return .closeNow
        case .closing, .closed:
            return .forward
        }
    }

    enum CloseNotifyAction: Equatable {
        /// Answer with our close_notify, signal end of input, close.
        case replyAndClose
        case none
    }

    mutating func closeNotifyReceived() -> CloseNotifyAction {
        switch state {
        case .active:
            state = .closing
            return .replyAndClose
        case .closing, .handshaking, .idle:
            state = .closing
            return .none
        case .closed:
            return .none
        }
    }

    enum InactiveAction: Equatable {
        /// The transport ended without close_notify while data could still flow:
        /// report possible truncation.
        case reportUncleanShutdown
        case none
    }

    mutating func channelInactive() -> InactiveAction {
        defer { state = .closed }
        return state == .active ? .reportUncleanShutdown : .none
    }
}
