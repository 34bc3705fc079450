internal import CNghttp2
internal import NIOCore

/// The one owner of an `nghttp2_session`, and the only Swift file that imports
/// CNghttp2.
///
/// nghttp2 never touches a socket here: bytes from the network are handed to
/// `receive(_:)` (`nghttp2_session_mem_recv`) and bytes for the network are pulled
/// with `drainOutput()` (`nghttp2_session_mem_send`), so all I/O and its threading
/// stay with the NIO handler that drives this type. What nghttp2 reports through
/// its C callbacks (file-private trampolines that recover `self` through the
/// `Unmanaged` user data) is queued as `HTTP2SessionEvent`s for `takeEvents()`.
///
/// Flow control is explicit: automatic WINDOW_UPDATEs are off, and received body
/// bytes reopen the window only when the application `consume`s them. A reader
/// that stops consuming stops the sender once the window is spent; nothing is
/// buffered without bound.
///
/// Outbound bodies: a stream submitted without END_STREAM gets a data provider
/// that serves the bytes queued with `sendData`; when the queue runs dry it defers
/// (`NGHTTP2_ERR_DEFERRED`) and resumes when more arrives. Trailers, when queued,
/// follow the last DATA frame.
final class NGHTTP2Session {
    enum Role { case client, server }

    let role: Role
    let configuration: HTTP2Configuration
    private var session: OpaquePointer?
    private let allocator = ByteBufferAllocator()
    private var events: [HTTP2SessionEvent] = []
    /// The header block being received. HPACK forbids interleaving (a block's
    /// HEADERS and CONTINUATION frames are contiguous), so there is at most one;
    /// kept as plain fields so appending never copies the array.
    private var blockStreamID: Int32 = 0
    private var blockHeaders: [HTTP2Header] = []
    private var blockSize = 0
    private var outbound: [Int32: OutboundStream] = [:]
    private var emptyDataFrames = 0
    /// Set by a callback that found the peer abusive; ends the connection.
    private var abuse: String?
    /// Set by a callback that found the peer breaking a rule nghttp2 does not
    /// enforce itself; ends the connection with PROTOCOL_ERROR.
    private var violation: String?
    /// The highest stream id a client has opened, and the odd ids below it it
    /// skipped (a few ranges, most recent last): HEADERS on a skipped id is a
    /// connection error (RFC 9113 5.1.1), which nghttp2 leaves to the application
    /// because it cannot tell it from trailers racing a reset.
    private var highestOpened: Int32 = 0
    private var skipped: [ClosedRange<Int32>] = []
    /// How many frames of each type were received (for tests and diagnostics):
    /// counters, not a log, so a long-lived connection does not grow it.
    private var receivedFrameCounts = [Int](repeating: 0, count: 11)
    /// The client's stream resets, as a token bucket (server only).
    private var resetAllowance: ResetAllowance

    /// How many frames of `type` were received so far.
    func receivedFrames(_ type: HTTP2FrameType) -> Int {
        receivedFrameCounts[type == .unknown ? 10 : Int(type.rawValue)]
    }

    /// What the writers of chunks the data provider has framed wait for, to be
    /// done once the output holding them has been written (`takeFramedCompletions`).
    private var framedCompletions: [WriteCompletion] = []
    /// RST_STREAMs to submit once everything queued before them is out.
    private var pendingResets: [(Int32, UInt32)] = []

    /// A class, so the queue is changed where it lives: a struct copied out of the
    /// dictionary and written back made every append and every framed chunk copy
    /// its arrays (two allocations per write and per frame).
    private final class OutboundStream {
        var chunks: [ByteBuffer] = []
        /// One per chunk (nil when the writer asked for nothing).
        var completions: [WriteCompletion?] = []
        /// Done once the stream's last frame is framed (an empty final write).
        var endCompletion: WriteCompletion?
        var ended = false
        var trailers: [HTTP2Header]?
        var deferred = false
    }

    init(role: Role, configuration: HTTP2Configuration = HTTP2Configuration()) throws(HTTP2Error) {
        self.role = role
        self.configuration = configuration
        self.resetAllowance = ResetAllowance(
            burst: configuration.streamResetBurst, perSecond: configuration.streamResetRatePerSecond)
        var callbacks: OpaquePointer?
        var rc = nghttp2_session_callbacks_new(&callbacks)
        guard rc == 0, let callbacks else { throw Self.error(rc) }
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, onBeginFrame)
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, onBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(callbacks, onHeader)
        // No on_invalid_header callback: with HTTP messaging validation on (the
        // default), nghttp2 itself resets a stream carrying a field RFC 9113
        // forbids (uppercase names, bad characters, misplaced pseudo-headers)
        // with PROTOCOL_ERROR, which is what 8.1.1 asks for.
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameReceived)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, onDataChunk)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onStreamClose)

        var options: OpaquePointer?
        rc = nghttp2_option_new(&options)
        guard rc == 0, let options else { throw Self.error(rc) }
        defer { nghttp2_option_del(options) }
        nghttp2_option_set_no_auto_window_update(options, 1)
        nghttp2_option_set_max_outbound_ack(options, configuration.maximumOutboundAcks)
        nghttp2_option_set_max_settings(options, configuration.maximumSettingsEntries)
        nghttp2_option_set_max_continuations(options, configuration.maximumContinuations)
        // Rapid reset (CVE-2023-44487) is counted here, on the RST_STREAM frames a
        // client sends, so that it ends in GOAWAY ENHANCE_YOUR_CALM as RFC 9113
        // 10.5 suggests; nghttp2's own limiter (which says INTERNAL_ERROR, and also
        // counts the resets a server sends for malformed streams) stays as the
        // backstop at twice the allowance.
        nghttp2_option_set_stream_reset_rate_limit(
            options, configuration.streamResetBurst * 2, configuration.streamResetRatePerSecond * 2)

        // The user data is unretained: the session cannot outlive `self`, which
        // deletes it in `deinit`.
        let userData = Unmanaged.passUnretained(self).toOpaque()
        var session: OpaquePointer?
        switch role {
        case .server: rc = nghttp2_session_server_new2(&session, callbacks, userData, options)
        case .client: rc = nghttp2_session_client_new2(&session, callbacks, userData, options)
        }
        guard rc == 0, let session else { throw Self.error(rc) }
        self.session = session

        var settings = [
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                value: configuration.maximumConcurrentStreams),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue),
                value: configuration.initialWindowSize),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_FRAME_SIZE.rawValue), value: configuration.maximumFrameSize),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue),
                value: configuration.maximumHeaderListSize),
        ]
        if role == .server {
            // No server push: the mesh never uses it.
            settings.append(nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0))
        }
        rc = nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), settings, settings.count)
        guard rc == 0 else { throw Self.error(rc) }
        if configuration.connectionWindowSize > 65_535 {
            rc = nghttp2_session_set_local_window_size(
                session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, configuration.connectionWindowSize)
            guard rc == 0 else { throw Self.error(rc) }
        }
    }

    deinit {
        nghttp2_session_del(session)
    }

    // MARK: Bytes in and out

    /// Feeds bytes read from the network. Throws when the peer broke the protocol
    /// or abused it (floods, rapid reset); nghttp2 has then queued a GOAWAY, which
    /// `drainOutput()` still yields, and the connection must close after sending it.
    func receive(_ buffer: ByteBuffer) throws(HTTP2Error) {
        let consumed = buffer.withUnsafeReadableBytes { bytes in
            nghttp2_session_mem_recv(session, bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count)
        }
        if let abuse {
            nghttp2_session_terminate_session(session, HTTP2ErrorCode.enhanceYourCalm.rawValue)
            throw HTTP2Error(.protocolViolation, code: Int32(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue), reason: abuse)
        }
        if let violation {
            nghttp2_session_terminate_session(session, HTTP2ErrorCode.protocolError.rawValue)
            throw HTTP2Error(.protocolViolation, code: Int32(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue), reason: violation)
        }
        if consumed < 0 {
            // Some fatal errors (a CONTINUATION flood, an output flood) end the
            // session without a GOAWAY queued: say why before the connection closes.
            // (Where nghttp2 already queued one, this changes nothing.)
            let code = Int32(consumed)
            let floods = [NGHTTP2_ERR_FLOODED.rawValue, NGHTTP2_ERR_TOO_MANY_CONTINUATIONS.rawValue]
            let reason: HTTP2ErrorCode = floods.contains(code) ? .enhanceYourCalm : .protocolError
            nghttp2_session_terminate_session(session, reason.rawValue)
            throw Self.error(code, fromPeer: true)
        }
    }

    func receive(_ bytes: [UInt8]) throws(HTTP2Error) {
        var buffer = allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        try receive(buffer)
    }

    /// Everything nghttp2 wants to send now, in order; empty when nothing.
    func drainOutput() throws(HTTP2Error) -> ByteBuffer {
        var output = allocator.buffer(capacity: 0)
        while true {
            var data: UnsafePointer<UInt8>?
            let length = nghttp2_session_mem_send(session, &data)
            if length < 0 { throw Self.error(Int32(length)) }
            guard length > 0, let data else {
                // Everything queued before the resets is out: now they may follow.
                if pendingResets.isEmpty { return output }
                for (streamID, errorCode) in pendingResets {
                    _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, errorCode)
                }
                pendingResets.removeAll()
                continue
            }
            output.writeBytes(UnsafeRawBufferPointer(start: data, count: length))
        }
    }

    /// What the writers of body chunks framed into output since the last call
    /// wait for: the caller completes them when that output has been written.
    func takeFramedCompletions() -> [WriteCompletion] {
        guard !framedCompletions.isEmpty else { return [] }
        defer { framedCompletions = [] }
        return framedCompletions
    }

    /// The events observed since the last call, in order.
    /// Called on every read and every flush, so it must not allocate when there is
    /// nothing to take: the buffer is handed over, never copied.
    func takeEvents() -> [HTTP2SessionEvent] {
        guard !events.isEmpty else { return [] }
        defer { events = [] }
        return events
    }

    /// Whether nghttp2 still wants to read or write; false once a GOAWAY exchange
    /// has finished the connection.
    var isAlive: Bool {
        nghttp2_session_want_read(session) != 0 || nghttp2_session_want_write(session) != 0
    }

    // MARK: Streams

    /// Opens a stream with a request (client). Returns its stream ID.
    func submitRequest(_ headers: [HTTP2Header], endStream: Bool) throws(HTTP2Error) -> Int32 {
        let streamID = withNameValues(headers) { nva, count in
            if endStream { return nghttp2_submit_request(session, nil, nva, count, nil, nil) }
            var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: readOutboundData)
            return nghttp2_submit_request(session, nil, nva, count, &provider, nil)
        }
        guard streamID > 0 else { throw Self.error(streamID) }
        if !endStream { outbound[streamID] = OutboundStream() }
        return streamID
    }

    /// Answers a stream with response headers (server).
    func submitResponse(streamID: Int32, _ headers: [HTTP2Header], endStream: Bool) throws(HTTP2Error) {
        let rc = withNameValues(headers) { nva, count in
            if endStream { return nghttp2_submit_response(session, streamID, nva, count, nil) }
            var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: readOutboundData)
            return nghttp2_submit_response(session, streamID, nva, count, &provider)
        }
        guard rc == 0 else { throw Self.error(rc) }
        if !endStream { outbound[streamID] = OutboundStream() }
    }

    /// Queues body bytes on a stream opened without END_STREAM.
    func sendData(
        streamID: Int32, _ buffer: ByteBuffer, endStream: Bool, promise: EventLoopPromise<Void>? = nil
    ) throws(HTTP2Error) {
        try sendData(streamID: streamID, buffer, endStream: endStream, completion: promise.map { .promise($0) })
    }

    /// Queues body bytes; `completion` is done once they have been written.
    func sendData(
        streamID: Int32, _ buffer: ByteBuffer, endStream: Bool, completion: WriteCompletion?
    ) throws(HTTP2Error) {
        guard let stream = outbound[streamID], !stream.ended else {
            throw HTTP2Error(
                .internalFailure, code: Int32(NGHTTP2_ERR_STREAM_CLOSED.rawValue),
                reason: "stream \(streamID) accepts no more data")
        }
        if buffer.readableBytes > 0 {
            stream.chunks.append(buffer)
            stream.completions.append(completion)
        } else if let completion {
            // An empty write completes with the stream's end, or at once.
            if endStream { stream.endCompletion = completion } else { framedCompletions.append(completion) }
        }
        stream.ended = endStream
        try resume(streamID, stream)
    }

    /// Ends a stream with trailers (after any queued data).
    func sendTrailers(streamID: Int32, _ headers: [HTTP2Header]) throws(HTTP2Error) {
        guard let stream = outbound[streamID], !stream.ended else {
            throw HTTP2Error(
                .internalFailure, code: Int32(NGHTTP2_ERR_STREAM_CLOSED.rawValue),
                reason: "stream \(streamID) accepts no trailers")
        }
        stream.trailers = headers
        stream.ended = true
        try resume(streamID, stream)
    }

    private func resume(_ streamID: Int32, _ stream: OutboundStream) throws(HTTP2Error) {
        let wasDeferred = stream.deferred
        stream.deferred = false
        if wasDeferred {
            let rc = nghttp2_session_resume_data(session, streamID)
            guard rc == 0 else { throw Self.error(rc) }
        }
    }

    /// Bytes queued for a stream and not yet framed: what a writer may check
    /// before queueing more (the handler's backpressure toward the application).
    func pendingOutboundBytes(streamID: Int32) -> Int {
        outbound[streamID]?.chunks.reduce(0) { $0 + $1.readableBytes } ?? 0
    }

    /// Tells nghttp2 the application has processed `count` received body bytes of
    /// the stream, reopening the stream and connection windows by that much.
    func consume(streamID: Int32, count: Int) {
        guard count > 0 else { return }
        _ = nghttp2_session_consume(session, streamID, count)
    }

    /// Resets a stream once the frames already queued for it (its response headers,
    /// say) have been sent: nghttp2 marks a stream closing the moment RST_STREAM is
    /// submitted and then drops its queued HEADERS, so a "respond, then reset"
    /// (RFC 9113 8.1, answering before the request ended) would lose the answer.
    /// Body bytes still waiting for window are discarded, as a reset means.
    func resetStream(_ streamID: Int32, errorCode: HTTP2ErrorCode) {
        pendingResets.append((streamID, errorCode.rawValue))
    }

    func ping(payload: UInt64) {
        var bytes = payload.bigEndian
        withUnsafeBytes(of: &bytes) { raw in
            _ = nghttp2_submit_ping(
                session, UInt8(NGHTTP2_FLAG_NONE.rawValue), raw.bindMemory(to: UInt8.self).baseAddress)
        }
    }

    /// First step of a graceful shutdown (server): a GOAWAY announcing that no new
    /// streams will be accepted soon, while in-flight ones continue.
    func announceShutdown() {
        _ = nghttp2_submit_shutdown_notice(session)
    }

    /// The final GOAWAY: streams above the last one processed are refused; those
    /// below finish.
    func goAway(errorCode: HTTP2ErrorCode = .noError) {
        let last = nghttp2_session_get_last_proc_stream_id(session)
        _ = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), last, errorCode.rawValue, nil, 0)
    }

    // MARK: Callback bodies

    /// A HEADERS frame begins (server): a new id opens a stream (the ids between
    /// it and the last are skipped for good); an id the client skipped may never
    /// be used. Trailers come on ids that were opened and pass.
    fileprivate func beginRequest(streamID: Int32) -> Bool {
        if streamID > highestOpened {
            if streamID > highestOpened + 2 {
                skipped.append((highestOpened + 2)...(streamID - 2))
                if skipped.count > 16 { skipped.removeFirst() }
            }
            highestOpened = streamID
            return true
        }
        guard !skipped.contains(where: { $0.contains(streamID) }) else {
            violation = "HEADERS on stream \(streamID), below the highest stream the client opened (\(highestOpened))"
            return false
        }
        return true
    }

    fileprivate func beginHeaders(streamID: Int32) {
        blockStreamID = streamID
        blockHeaders = []
        blockHeaders.reserveCapacity(8)
        blockSize = 0
    }

    fileprivate func header(streamID: Int32, name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>)
        -> Int32
    {
        if streamID != blockStreamID { beginHeaders(streamID: streamID) }
        // RFC 9113 6.5.2 counts each field as name + value + 32 octets.
        blockSize += name.count + value.count + 32
        guard blockSize <= Int(configuration.maximumHeaderListSize) else {
            blockStreamID = 0
            blockHeaders = []
            // Resets just this stream.
            return Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
        blockHeaders.append(HTTP2Header(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        return 0
    }

    fileprivate func frameReceived(_ frame: UnsafePointer<nghttp2_frame>) -> Int32 {
        let header = frame.pointee.hd
        receivedFrameCounts[header.type < 10 ? Int(header.type) : 10] += 1
        let endStream = header.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        switch UInt32(header.type) {
        case NGHTTP2_HEADERS.rawValue:
            var block: [HTTP2Header] = []
            if blockStreamID == header.stream_id {
                swap(&block, &blockHeaders)
                blockStreamID = 0
            }
            events.append(.headers(streamID: header.stream_id, headers: block, endStream: endStream))
        case NGHTTP2_DATA.rawValue:
            if header.length == 0 && !endStream {
                emptyDataFrames += 1
                if emptyDataFrames > configuration.maximumEmptyDataFrames {
                    abuse = "more than \(configuration.maximumEmptyDataFrames) empty DATA frames"
                    return Int32(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue)
                }
            }
            if endStream {
                events.append(.data(streamID: header.stream_id, bytes: allocator.buffer(capacity: 0), endStream: true))
            }
        case NGHTTP2_RST_STREAM.rawValue where role == .server:
            guard resetAllowance.take(at: NIODeadline.now()) else {
                abuse =
                    "rapid reset: more than \(configuration.streamResetBurst) stream resets at once, "
                    + "or \(configuration.streamResetRatePerSecond) per second"
                return Int32(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue)
            }
        case NGHTTP2_GOAWAY.rawValue:
            let goaway = frame.pointee.goaway
            events.append(
                .goAway(lastStreamID: goaway.last_stream_id, errorCode: HTTP2ErrorCode(rawValue: goaway.error_code)))
        case NGHTTP2_PING.rawValue where header.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) != 0:
            let payload = withUnsafeBytes(of: frame.pointee.ping.opaque_data) { $0.loadUnaligned(as: UInt64.self) }
            events.append(.pingAcknowledged(payload: UInt64(bigEndian: payload)))
        case NGHTTP2_SETTINGS.rawValue where header.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) == 0:
            events.append(.settingsReceived)
        default:
            break
        }
        return 0
    }

    fileprivate func dataChunk(streamID: Int32, bytes: UnsafeBufferPointer<UInt8>) {
        var buffer = allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        events.append(.data(streamID: streamID, bytes: buffer, endStream: false))
    }

    fileprivate func streamClosed(streamID: Int32, errorCode: UInt32) {
        if blockStreamID == streamID {
            blockStreamID = 0
            blockHeaders = []
        }
        if let stream = outbound.removeValue(forKey: streamID),
            stream.endCompletion?.isAwaited == true || stream.completions.contains(where: { $0?.isAwaited == true })
        {
            // Bytes that never left: their writers learn the stream is gone. (The
            // error is built only when someone waits for it: a stream closing
            // normally has nothing queued.)
            let error = HTTP2Error(
                .internalFailure, code: Int32(NGHTTP2_ERR_STREAM_CLOSED.rawValue),
                reason: "stream \(streamID) closed (\(HTTP2ErrorCode(rawValue: errorCode)))")
            for completion in stream.completions { completion?.complete(.failure(error)) }
            stream.endCompletion?.complete(.failure(error))
        }
        events.append(.streamClosed(streamID: streamID, errorCode: HTTP2ErrorCode(rawValue: errorCode)))
    }

    /// Fills nghttp2's frame buffer from the stream's queue.
    fileprivate func readOutbound(
        streamID: Int32, into destination: UnsafeMutableRawBufferPointer, flags: UnsafeMutablePointer<UInt32>
    ) -> Int {
        guard let stream = outbound[streamID] else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
        var written = 0
        while written < destination.count, var chunk = stream.chunks.first {
            let count = min(destination.count - written, chunk.readableBytes)
            chunk.withUnsafeReadableBytes { source in
                UnsafeMutableRawBufferPointer(rebasing: destination[written..<(written + count)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<count]))
            }
            chunk.moveReaderIndex(forwardBy: count)
            written += count
            if chunk.readableBytes == 0 {
                stream.chunks.removeFirst()
                if let completion = stream.completions.removeFirst() { framedCompletions.append(completion) }
            } else {
                stream.chunks[0] = chunk
            }
        }
        if stream.chunks.isEmpty && stream.ended {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            if let completion = stream.endCompletion {
                framedCompletions.append(completion)
                stream.endCompletion = nil
            }
            if let trailers = stream.trailers {
                flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                _ = withNameValues(trailers) { nva, count in nghttp2_submit_trailer(session, streamID, nva, count) }
            }
        } else if written == 0 {
            stream.deferred = true
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
        return written
    }

    // MARK: Helpers

    /// Calls `body` with an nghttp2_nv array for `headers`, valid for the call
    /// (nghttp2 copies names and values when a frame is submitted). Names and
    /// values are copied once into scratch space that lives on the stack for the
    /// usual header block, so submitting allocates nothing of its own.
    private func withNameValues<R>(_ headers: [HTTP2Header], _ body: (UnsafePointer<nghttp2_nv>, Int) -> R) -> R {
        var total = 1  // never empty, so baseAddress is never nil
        for header in headers { total += header.name.utf8.count + header.value.utf8.count }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: total) { storage in
            withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: max(headers.count, 1)) { nva in
                let base = storage.baseAddress!
                var offset = 0
                func copy(_ text: String) -> (UnsafeMutablePointer<UInt8>, Int) {
                    let count = text.utf8.count
                    let start = offset
                    _ = UnsafeMutableBufferPointer(rebasing: storage[start..<(start + count)]).initialize(
                        from: text.utf8)
                    offset += count
                    return (base + start, count)
                }
                for (index, header) in headers.enumerated() {
                    let (name, nameLength) = copy(header.name)
                    let (value, valueLength) = copy(header.value)
                    (nva.baseAddress! + index).initialize(
                        to: nghttp2_nv(
                            name: name, value: value, namelen: nameLength, valuelen: valueLength,
                            flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
                }
                return body(UnsafePointer(nva.baseAddress!), headers.count)
            }
        }
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

/// A token bucket of stream resets: `burst` at once, refilled at `perSecond`.
struct ResetAllowance {
    let burst: UInt64
    let perSecond: UInt64
    private var tokens: UInt64
    private var refilledAt: NIODeadline?

    init(burst: UInt64, perSecond: UInt64) {
        self.burst = burst
        self.perSecond = perSecond
        self.tokens = burst
    }

    /// Takes one reset's token; false when none is left.
    mutating func take(at now: NIODeadline) -> Bool {
        if let refilledAt {
            let seconds = UInt64(max(0, (now - refilledAt).nanoseconds) / 1_000_000_000)
            if seconds > 0 {
                tokens = min(burst, tokens + seconds * perSecond)
                self.refilledAt = refilledAt + .seconds(Int64(seconds))
            }
        } else {
            refilledAt = now
        }
        guard tokens > 0 else { return false }
        tokens -= 1
        return true
    }
}

/// What a writer waits for once its body chunk has been written.
enum WriteCompletion {
    case promise(EventLoopPromise<Void>)
    /// Tell `stream` (another connection's, on the same event loop) that it may
    /// receive `count` more bytes: flow control linked across a proxy, without a
    /// promise and a closure per chunk.
    case consume(HTTP2Stream, count: Int)

    /// Whether someone learns of a failure (a promise does; a consume is dropped).
    var isAwaited: Bool {
        if case .promise = self { true } else { false }
    }

    func complete(_ result: Result<Void, any Error>) {
        switch self {
        case .promise(let promise): promise.completeWith(result)
        case .consume(let stream, let count): if case .success = result { stream.consume(count) }
        }
    }
}

/// The frame types of RFC 9113, section 6.
enum HTTP2FrameType: UInt8 {
    case data = 0
    case headers, priority, rstStream, settings, pushPromise, ping, goaway, windowUpdate, continuation
    case unknown = 0xFF
}

// MARK: C callback trampolines

private func owner(_ userData: UnsafeMutableRawPointer?) -> NGHTTP2Session? {
    userData.map { Unmanaged<NGHTTP2Session>.fromOpaque($0).takeUnretainedValue() }
}

private func onBeginHeaders(
    _ session: OpaquePointer?, _ frame: UnsafePointer<nghttp2_frame>?, _ userData: UnsafeMutableRawPointer?
) -> Int32 {
    guard let frame, let owner = owner(userData) else { return 0 }
    owner.beginHeaders(streamID: frame.pointee.hd.stream_id)
    return 0
}

/// Sees every frame's header before nghttp2 processes it: where a client's
/// HEADERS on a skipped stream id is caught (nghttp2 ignores those silently).
private func onBeginFrame(
    _ session: OpaquePointer?, _ header: UnsafePointer<nghttp2_frame_hd>?, _ userData: UnsafeMutableRawPointer?
) -> Int32 {
    guard let header, header.pointee.type == UInt8(NGHTTP2_HEADERS.rawValue), let owner = owner(userData),
        owner.role == .server, header.pointee.stream_id > 0
    else { return 0 }
    return owner.beginRequest(streamID: header.pointee.stream_id) ? 0 : Int32(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue)
}

private func onHeader(
    _ session: OpaquePointer?, _ frame: UnsafePointer<nghttp2_frame>?, _ name: UnsafePointer<UInt8>?, _ nameLength: Int,
    _ value: UnsafePointer<UInt8>?, _ valueLength: Int, _ flags: UInt8, _ userData: UnsafeMutableRawPointer?
) -> Int32 {
    guard let frame, let owner = owner(userData) else { return 0 }
    return owner.header(
        streamID: frame.pointee.hd.stream_id, name: UnsafeBufferPointer(start: name, count: nameLength),
        value: UnsafeBufferPointer(start: value, count: valueLength))
}

private func onFrameReceived(
    _ session: OpaquePointer?, _ frame: UnsafePointer<nghttp2_frame>?, _ userData: UnsafeMutableRawPointer?
) -> Int32 {
    guard let frame, let owner = owner(userData) else { return 0 }
    return owner.frameReceived(frame)
}

private func onDataChunk(
    _ session: OpaquePointer?, _ flags: UInt8, _ streamID: Int32, _ data: UnsafePointer<UInt8>?, _ length: Int,
    _ userData: UnsafeMutableRawPointer?
) -> Int32 {
    guard let owner = owner(userData) else { return 0 }
    owner.dataChunk(streamID: streamID, bytes: UnsafeBufferPointer(start: data, count: length))
    return 0
}

private func onStreamClose(
    _ session: OpaquePointer?, _ streamID: Int32, _ errorCode: UInt32, _ userData: UnsafeMutableRawPointer?
) -> Int32 {
    owner(userData)?.streamClosed(streamID: streamID, errorCode: errorCode)
    return 0
}

private func readOutboundData(
    _ session: OpaquePointer?, _ streamID: Int32, _ buffer: UnsafeMutablePointer<UInt8>?, _ length: Int,
    _ flags: UnsafeMutablePointer<UInt32>?, _ source: UnsafeMutablePointer<nghttp2_data_source>?,
    _ userData: UnsafeMutableRawPointer?
) -> Int {
    guard let owner = owner(userData), let flags else { return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
    return owner.readOutbound(
        streamID: streamID, into: UnsafeMutableRawBufferPointer(start: buffer, count: length), flags: flags)
}
