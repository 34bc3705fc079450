import Foundation
import WeftProtocol

/// `weftctl status`: is the control plane up, and how is the mesh: the
/// registry's readiness and state version, the proxies waiting on it for
/// changes, services and instances by health, and the instances no proxy will
/// send traffic to.
public enum StatusCommand {
    public static func run(
        context: AdminContext, authority: AuthorityCommands.Context? = nil, expiringWithin: String = "24h", json: Bool
    ) throws -> String {
        guard let window = try? WeftDuration(validating: expiringWithin) else {
            throw DevMeshError(
                "--expiring-within: expected a duration such as 24h or 90m, got \(expiringWithin.prefix(40))")
        }
        // The CA's certificates first: a CA that cannot be asked is an error
        // before anything is printed.
        let certificates = try authority.map { try certificateSummary($0, within: window.seconds) }
        let client: AdminClient
        do {
            client = try AdminClient.registry(url: context.registryURL, token: context.adminToken)
        } catch {
            throw DevMeshError("--registry: \(error)")
        }
        let ready: AdminClient.Reply
        do {
            ready = try client.call(.GET, "/readyz")
        } catch {
            throw DevMeshError("the registry at \(context.registryURL) does not answer: \(error)")
        }
        let readiness = (try? JSONSerialization.jsonObject(with: Data(ready.body.utf8))) as? [String: Any] ?? [:]
        guard ready.status == 200 else {
            let detail = readiness["detail"] as? String ?? ready.body.prefix(200).description
            throw DevMeshError("the registry at \(context.registryURL) is not ready (\(ready.status)): \(detail)")
        }
        let metrics = (try? client.call(.GET, "/metrics").body) ?? ""
        let watchers = metrics.split(separator: "\n").first { $0.hasPrefix("weft_registry_watchers") }
            .flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) }
        let services = try GetCommand.items(client, "/v1/services")
        let instances = try GetCommand.items(client, "/v1/instances")
        var health: [String: Int] = [:]
        for instance in instances { health[instance["health"] as? String ?? "unknown", default: 0] += 1 }
        let notServing = instances.filter { !["passing", "warning"].contains($0["health"] as? String ?? "") }
        if json {
            var object: [String: Any] = [
                "registry": context.registryURL, "ready": true, "version": readiness["version"] ?? NSNull(),
                "watchers": watchers ?? NSNull(), "services": services.count, "instances": instances.count,
                "health": health,
                "not_serving": notServing.map {
                    "\($0["namespace"] ?? "?")/\($0["service"] ?? "?")/\($0["id"] ?? "?")"
                },
            ]
            if let certificates {
                object["certificates"] = [
                    "valid": certificates.valid,
                    "expiring": certificates.expiring.map {
                        ["serial": $0.serial, "identity": $0.identity, "seconds_left": Int($0.left)]
                    },
                ]
            }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            return String(decoding: data, as: UTF8.self)
        }
        var lines = [
            "registry   \(context.registryURL): ready, state version \(readiness["version"] ?? "?")",
            "proxies    \(watchers.map(String.init) ?? "?") watching for changes",
            "services   \(services.count)",
            "instances  \(instances.count)"
                + (health.isEmpty
                    ? ""
                    : " (" + health.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                        + ")"),
        ]
        if let certificates {
            lines.append(
                "certs      \(certificates.valid) valid, \(certificates.expiring.count) expiring within \(window)")
            for certificate in certificates.expiring {
                lines.append(
                    "  \(certificate.identity) \(certificate.serial): \(AuthorityCommands.duration(certificate.left)) left"
                )
            }
        }
        if !notServing.isEmpty {
            lines.append("not receiving traffic:")
            for instance in notServing {
                lines.append(
                    "  \(instance["namespace"] ?? "?")/\(instance["service"] ?? "?") \(instance["id"] ?? "?"): \(instance["health"] ?? "?")"
                )
            }
        }
        return lines.joined(separator: "\n")
    }

    struct CertificateSummary {
        var valid = 0
        var expiring: [(serial: String, identity: String, left: TimeInterval)] = []
    }

    /// The CA's certificates in force (not revoked, not expired), and those of
    /// them that expire within `window` seconds, soonest first: a workload
    /// whose sidecar stopped renewing shows here before its calls fail.
    static func certificateSummary(_ authority: AuthorityCommands.Context, within window: Double) throws
        -> CertificateSummary
    {
        let items = try GetCommand.items(try authority.client(), "/v1/certificates")
        let now = Date()
        var summary = CertificateSummary()
        for item in items where item["revoked_at"] == nil || item["revoked_at"] is NSNull {
            guard let notAfter = (item["not_after"] as? String).flatMap(AuthorityCommands.timestamp) else { continue }
            let left = notAfter.timeIntervalSince(now)
            guard left > 0 else { continue }
            summary.valid += 1
            if left <= window {
                summary.expiring.append((item["serial"] as? String ?? "?", item["identity"] as? String ?? "?", left))
            }
        }
        summary.expiring.sort { $0.left < $1.left }
        return summary
    }
}
