import NIOCore

/// Watches one request for telemetry: when it started, the status it was answered
/// with, when it ended. It records into its event loop's `ProxyMetrics` once, at
/// the end; nothing is shared across threads. A value kept inside the request's
/// forwarder: no allocation of its own per request.
public struct RequestObserver {
    private let metrics: ProxyMetrics
    private let direction: ProxyMetrics.Direction
    private let started: NIODeadline
    private var status: Int?
    private var recorded = false

    public init(metrics: ProxyMetrics, direction: ProxyMetrics.Direction) {
        self.metrics = metrics
        self.direction = direction
        self.started = .now()
    }

    /// The response's head went out with `status`.
    public mutating func responseBegan(status: Int) {
        self.status = status
    }

    /// The exchange is over: with a status when the proxy answered or cut it itself.
    public mutating func completed(status: Int? = nil, error: ProxyError? = nil) {
        guard !recorded else { return }
        recorded = true
        let code = status ?? self.status ?? 0
        metrics.record(direction, status: code, seconds: Double((NIODeadline.now() - started).nanoseconds) / 1e9)
        if let error { metrics.recordError(direction, reason: error.status.reason) }
    }
}

@available(*, unavailable)
extension RequestObserver: Sendable {}
