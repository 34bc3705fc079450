public import Prometheus

/// The registry's Prometheus metrics, served at `/metrics`. Each registry owns its
/// collector registry (no process-global state), so several can run in one test
/// process.
public final class RegistryMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let requestDuration: DurationHistogram
    let heartbeats: Counter
    let stateVersion: Gauge
    let watchers: Gauge

    public init() {
        requestDuration = registry.makeDurationHistogram(
            descriptor: Self.name(
                "http_request_duration", "seconds",
                "Time to answer admin and discovery calls (blocking queries included)"),
            buckets: [
                .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500),
                .seconds(2), .seconds(10), .seconds(60), .seconds(300),
            ])
        heartbeats = registry.makeCounter(descriptor: Self.name("heartbeats", "total", "Heartbeats acknowledged"))
        stateVersion = registry.makeGauge(
            descriptor: Self.name("state", "version", "The registry version this replica serves"))
        watchers = registry.makeGauge(
            descriptor: Self.name("watchers", "", "Blocking discovery queries waiting for a change"))
    }

    /// `weft_registry_<name>_<unit>`.
    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "weft", subsystem: "registry", metricName: metric, unitName: unit, helpText: help)
    }

    static var requests: MetricNameDescriptor { name("http_requests", "total", "Admin and discovery calls answered") }

    /// Methods that get their own label value; anything else a client sends is
    /// counted as `other`, so made-up methods cannot grow the label set (and memory).
    static let labelledMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    /// Counts one answered call by route template, method and status.
    func countRequest(route: String, method rawMethod: String, status: Int) {
        let method = Self.labelledMethods.contains(rawMethod) ? rawMethod : "other"
        registry.makeCounter(
            descriptor: Self.requests, labels: [("route", route), ("method", method), ("status", String(status))]
        ).increment()
    }

    func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
