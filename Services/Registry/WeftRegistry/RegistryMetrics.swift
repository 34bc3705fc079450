public import Prometheus
import WeftAPIServer

/// The registry's Prometheus metrics, served at `/metrics`: the shared request
/// metrics plus the registry's own. Each registry owns its collector registry
/// (no process-global state), so several can run in one test process.
public final class RegistryMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let requests: RequestMetrics
    let heartbeats: Counter
    let stateVersion: Gauge
    let watchers: Gauge

    public init() {
        requests = RequestMetrics(
            registry: registry, subsystem: "registry",
            durationHelp: "Time to answer admin and discovery calls (blocking queries included)")
        heartbeats = registry.makeCounter(descriptor: requests.name("heartbeats", "total", "Heartbeats acknowledged"))
        stateVersion = registry.makeGauge(
            descriptor: requests.name("state", "version", "The registry version this replica serves"))
        watchers = registry.makeGauge(
            descriptor: requests.name("watchers", "", "Blocking discovery queries waiting for a change"))
    }

    func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
