import Foundation

/// `weftctl status`: is the control plane up, and how is the mesh: the
/// registry's readiness and state version, the proxies waiting on it for
/// changes, services and instances by health, and the instances no proxy will
/// send traffic to.
public enum StatusCommand {
    public static func run(context: AdminContext, json: Bool) throws -> String {
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
            let object: [String: Any] = [
                "registry": context.registryURL, "ready": true, "version": readiness["version"] ?? NSNull(),
                "watchers": watchers ?? NSNull(), "services": services.count, "instances": instances.count,
                "health": health,
                "not_serving": notServing.map { "\($0["namespace"] ?? "?")/\($0["service"] ?? "?")/\($0["id"] ?? "?")" },
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            return String(decoding: data, as: UTF8.self)
        }
        var lines = [
            "registry   \(context.registryURL): ready, state version \(readiness["version"] ?? "?")",
            "proxies    \(watchers.map(String.init) ?? "?") watching for changes",
            "services   \(services.count)",
            "instances  \(instances.count)"
                + (health.isEmpty
                    ? "" : " (" + health.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + ")"),
        ]
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
}
