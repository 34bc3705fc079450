public import Prometheus

/// The request metrics every Weft admin API serves: calls answered by route
/// template, method and status, and how long they took. Each server owns its
/// collector registry (no process-global state), so several can run in one
/// test process.
public final class RequestMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let subsystem: String
    let duration: DurationHistogram

    /// Methods that get their own label value; anything else a client sends is
    /// counted as `other`, so made-up methods cannot grow the label set (and memory).
    static let labelledMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    public init(registry: PrometheusCollectorRegistry, subsystem: String, durationHelp: String) {
        self.registry = registry
        self.subsystem = subsystem
        duration = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "weft", subsystem: subsystem, metricName: "http_request_duration", unitName: "seconds",
                helpText: durationHelp),
            buckets: [
                .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500),
                .seconds(2), .seconds(10), .seconds(60), .seconds(300),
            ])
    }

    /// `weft_<subsystem>_<name>_<unit>`.
    public func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "weft", subsystem: subsystem, metricName: metric, unitName: unit, helpText: help)
    }

    /// Counts one answered call by route template, method and status.
    public func record(route: String, method rawMethod: String, status: Int, duration elapsed: Duration) {
        let method = Self.labelledMethods.contains(rawMethod) ? rawMethod : "other"
        registry.makeCounter(
            descriptor: name("http_requests", "total", "API calls answered"),
            labels: [("route", route), ("method", method), ("status", String(status))]
        ).increment()
        duration.record(elapsed)
    }

    /// The Prometheus text exposition.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }

    public static let contentType = "text/plain; version=0.0.4"
}
