public import NIOCore

/// What an HTTP/2 session observed while processing received bytes, in order.
public enum HTTP2SessionEvent: Sendable {
    /// A header block: request or response headers, or trailers (a second block
    /// on the same stream). `endStream` means the peer will send nothing more.
    case headers(streamID: Int32, headers: [HTTP2Header], endStream: Bool)
    /// Body bytes. The receiver must `consume` them to reopen the flow-control
    /// window: that is how a slow reader slows the sender.
    case data(streamID: Int32, bytes: ByteBuffer, endStream: Bool)
    /// The stream is finished: `noError` after a normal end, otherwise the
    /// RST_STREAM code (or the code the session reset it with).
    case streamClosed(streamID: Int32, errorCode: HTTP2ErrorCode)
    /// The peer will accept no stream above `lastStreamID`.
    case goAway(lastStreamID: Int32, errorCode: HTTP2ErrorCode)
    case pingAcknowledged(payload: UInt64)
    /// The peer's SETTINGS arrived (and were acknowledged).
    case settingsReceived
}

/// Limits and settings of one HTTP/2 connection.
public struct HTTP2Configuration: Sendable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS we advertise; streams past it are refused
    /// with REFUSED_STREAM.
    public var maximumConcurrentStreams: UInt32 = 100
    /// Per-stream receive window (SETTINGS_INITIAL_WINDOW_SIZE).
    public var initialWindowSize: UInt32 = 65_535
    /// Connection-level receive window.
    public var connectionWindowSize: Int32 = 1 << 20
    /// SETTINGS_MAX_FRAME_SIZE we accept.
    public var maximumFrameSize: UInt32 = 16_384
    /// SETTINGS_MAX_HEADER_LIST_SIZE: larger header blocks reset their stream.
    public var maximumHeaderListSize: UInt32 = 64 * 1024
    /// RST_STREAM a client may cause, as a token bucket (burst, then per second):
    /// rapid reset (CVE-2023-44487) ends the connection.
    public var streamResetBurst: UInt64 = 1000
    public var streamResetRatePerSecond: UInt64 = 33
    /// Empty DATA frames without END_STREAM tolerated per connection (CVE-2019-9518).
    public var maximumEmptyDataFrames: Int = 100
    /// CONTINUATION frames per header block (CVE-2024-28182).
    public var maximumContinuations: Int = 8
    /// Queued PING/SETTINGS acknowledgements before the peer is flooding.
    public var maximumOutboundAcks: Int = 1000
    /// SETTINGS entries per frame.
    public var maximumSettingsEntries: Int = 32
    /// A connection with no open stream for this long is closed gracefully (nil: never).
    public var idleTimeout: TimeAmount? = .seconds(300)
    /// Send a PING after this much silence from the peer (nil: no keepalive).
    public var keepaliveInterval: TimeAmount? = nil
    /// A PING unanswered this long means the connection is dead: it is closed.
    public var keepaliveTimeout: TimeAmount = .seconds(20)
    /// How long a graceful shutdown waits for in-flight streams before closing anyway.
    public var gracefulShutdownTimeout: TimeAmount = .seconds(30)

    public init() {}
}
