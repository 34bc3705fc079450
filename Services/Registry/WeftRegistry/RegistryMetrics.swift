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
            name: "weft_registry_http_request_duration_seconds",
            buckets: [
                .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500),
                .seconds(2), .seconds(10), .seconds(60), .seconds(300),
            ],
            help: "Time to answer admin and discovery calls (blocking queries included)")
        heartbeats = registry.makeCounter(
            name: "weft_registry_heartbeats_total", help: "Heartbeats acknowledged")
        stateVersion = registry.makeGauge(
            name: "weft_registry_state_version", help: "The registry version this replica serves")
        watchers = registry.makeGauge(
            name: "weft_registry_watchers", help: "Blocking discovery queries waiting for a change")
    }

    /// Counts one answered call by route template, method and status.
    func countRequest(route: String, method: String, status: Int) {
        registry.makeCounter(
            name: "weft_registry_http_requests_total",
            labels: [("route", route), ("method", method), ("status", String(status))],
            help: "Admin and discovery calls answered"
        ).increment()
    }

    func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
