public import Prometheus
import WeftAPIServer

/// The CA's Prometheus metrics, served at `/metrics`: the shared request
/// metrics plus certificates issued, signing requests refused by the rate
/// limit, and the bundle version this replica serves.
public final class CAMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let requests: RequestMetrics
    let issuedWithToken: Counter
    let issuedByRenewal: Counter
    let rateLimited: Counter
    let bundleVersion: Gauge

    public init() {
        requests = RequestMetrics(registry: registry, subsystem: "ca", durationHelp: "Time to answer API calls")
        let issued = requests.name("certificates_issued", "total", "Workload certificates issued")
        issuedWithToken = registry.makeCounter(descriptor: issued, labels: [("via", IssuanceVia.joinToken.rawValue)])
        issuedByRenewal = registry.makeCounter(descriptor: issued, labels: [("via", IssuanceVia.renewal.rawValue)])
        rateLimited = registry.makeCounter(
            descriptor: requests.name("sign_rate_limited", "total", "Signing requests refused by the rate limit"))
        bundleVersion = registry.makeGauge(
            descriptor: requests.name("bundle", "version", "The trust bundle version this replica serves"))
    }

    func issued(via: IssuanceVia) {
        switch via {
        case .joinToken: issuedWithToken.increment()
        case .renewal: issuedByRenewal.increment()
        }
    }

    func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
