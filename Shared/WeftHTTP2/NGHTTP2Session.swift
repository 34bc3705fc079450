internal import CNghttp2

/// The one owner of an `nghttp2_session`, and the only Swift file that imports
/// CNghttp2.
///
/// nghttp2 never touches a socket here: bytes from the network are handed to
/// `receive(_:)` (`nghttp2_session_mem_recv`) and bytes for the network are pulled
/// with `drainOutput()` (`nghttp2_session_mem_send`). That keeps all I/O, and its
/// threading, in the NIO handlers that drive this type.
///
/// nghttp2 reports events through C callbacks; those are file-private trampolines
/// that recover the session through the `Unmanaged` user-data pointer.
final class NGHTTP2Session {
    enum Role { case client, server }

    /// Frame types received so far, in order (the session's observable events; the
    /// handler layer turns these into stream events).
    private(set) var receivedFrameTypes: [HTTP2FrameType] = []

    private var session: OpaquePointer?
    let role: Role

    init(role: Role) throws {
        self.role = role
        var callbacks: OpaquePointer?
        let created = nghttp2_session_callbacks_new(&callbacks)
        guard created == 0, let callbacks else { throw Self.error(created) }
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameReceived)

        // The user data is unretained: the session cannot outlive `self`, which
        // deletes it in `deinit`.
        let userData = Unmanaged.passUnretained(self).toOpaque()
        var session: OpaquePointer?
        let rc: Int32
        switch role {
        case .server: rc = nghttp2_session_server_new(&session, callbacks, userData)
        case .client: rc = nghttp2_session_client_new(&session, callbacks, userData)
        }
        guard rc == 0, let session else { throw Self.error(rc) }
        self.session = session
    }

    deinit {
        nghttp2_session_del(session)
    }

    /// Queues our SETTINGS frame; sent on the next `drainOutput()`.
    func submitSettings(maxConcurrentStreams: UInt32, initialWindowSize: UInt32) throws {
        var entries = [
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: maxConcurrentStreams),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: initialWindowSize),
        ]
        let rc = nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &entries, entries.count)
        guard rc == 0 else { throw Self.error(rc) }
    }

    /// Feeds bytes read from the network. Throws when the peer broke the protocol;
    /// nghttp2 has then queued a GOAWAY, which `drainOutput()` still yields.
    func receive(_ bytes: [UInt8]) throws {
        let consumed = bytes.withUnsafeBufferPointer { buffer in
            nghttp2_session_mem_recv(session, buffer.baseAddress, buffer.count)
        }
        if consumed < 0 { throw Self.error(Int32(consumed), fromPeer: true) }
    }

    /// Everything nghttp2 wants to send now, in order.
    func drainOutput() throws -> [UInt8] {
        var output: [UInt8] = []
        while true {
            var data: UnsafePointer<UInt8>?
            let length = nghttp2_session_mem_send(session, &data)
            if length < 0 { throw Self.error(Int32(length)) }
            guard length > 0, let data else { return output }
            output.append(contentsOf: UnsafeBufferPointer(start: data, count: length))
        }
    }

    /// Whether nghttp2 still wants to read or write; false once a GOAWAY exchange
    /// has finished the connection.
    var isAlive: Bool {
        nghttp2_session_want_read(session) != 0 || nghttp2_session_want_write(session) != 0
    }

    fileprivate func record(frameType: UInt8) {
        receivedFrameTypes.append(HTTP2FrameType(rawValue: frameType) ?? .unknown)
    }

    /// nghttp2's version string, for example `1.52.0`.
    static var libraryVersion: String {
        guard let info = nghttp2_version(0) else { return "unknown" }
        return String(cString: info.pointee.version_str)
    }

    /// Maps a negative nghttp2 return code, once, to a typed error. On the receive
    /// path every failure but memory exhaustion is the peer's doing (bad magic,
    /// malformed frames, floods); on every other path a failure is ours.
    private static func error(_ code: Int32, fromPeer: Bool = false) -> HTTP2Error {
        let reason = String(cString: nghttp2_strerror(code))
        let peerFault = fromPeer && code != NGHTTP2_ERR_NOMEM.rawValue
        return HTTP2Error(peerFault ? .protocolViolation : .internalFailure, code: code, reason: reason)
    }
}

/// The frame types of RFC 9113, section 6.
enum HTTP2FrameType: UInt8 {
    case data = 0
    case headers, priority, rstStream, settings, pushPromise, ping, goaway, windowUpdate, continuation
    case unknown = 0xFF
}

private func onFrameReceived(
    _ session: OpaquePointer?,
    _ frame: UnsafePointer<nghttp2_frame>?,
    _ userData: UnsafeMutableRawPointer?
) -> Int32 {
    guard let frame, let userData else { return 0 }
    let owner = Unmanaged<NGHTTP2Session>.fromOpaque(userData).takeUnretainedValue()
    owner.record(frameType: frame.pointee.hd.type)
    return 0
}
