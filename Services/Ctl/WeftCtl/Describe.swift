import Foundation

/// `weftctl describe service NAME`: everything the registry holds about one
/// service, in one place: its protocol, its instances and their health, its
/// traffic policy, its routes, and the intentions that guard it.
public enum DescribeCommand {
    public static func service(_ name: String, context: AdminContext) throws -> String {
        let client: AdminClient
        do {
            client = try AdminClient.registry(url: context.registryURL, token: context.adminToken)
        } catch {
            throw DevMeshError("--registry: \(error)")
        }
        let parts = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw DevMeshError("\(name): expected NAME or NAMESPACE/NAME")
        }
        let (namespace, service) = parts.count == 2 ? (parts[0], parts[1]) : ("default", parts[0])
        func object(_ path: String) throws -> [String: Any]? {
            let reply = try client.call(.GET, path)
            if reply.status == 404 { return nil }
            guard reply.status == 200 else { throw GetCommand.refusal(reply, path) }
            return (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8))) as? [String: Any]
        }
        func compact(_ value: Any) -> String {
            guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) else {
                return "\(value)"
            }
            return String(decoding: data, as: UTF8.self)
        }
        guard let described = try object("/v1/services/\(namespace)/\(service)") else {
            throw DevMeshError("service \(namespace)/\(service) is not in the registry (weftctl get services)")
        }
        var lines = ["service    \(namespace)/\(service)", "protocol   \(described["protocol"] ?? "http")"]

        let instances = try GetCommand.items(client, "/v1/instances").filter {
            $0["namespace"] as? String == namespace && $0["service"] as? String == service
        }
        lines.append("instances  \(instances.count)")
        for instance in instances.sorted(by: { "\($0["id"] ?? "")" < "\($1["id"] ?? "")" }) {
            let labels = (instance["labels"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }
                .map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            lines.append(
                "  \(instance["id"] ?? "?")  \(instance["address"] ?? "?"):\(instance["port"] ?? "?")  \(instance["health"] ?? "?")"
                    + (labels.isEmpty ? "" : "  \(labels)"))
        }

        if let policy = try object("/v1/policies/\(namespace)/\(service)") {
            lines.append("policy")
            for key in policy.keys.sorted() where !["service", "namespace", "modify_version"].contains(key) {
                lines.append("  \(key): \(compact(policy[key]!))")
            }
        } else {
            lines.append("policy     (none: the defaults apply, docs/traffic-policy.md)")
        }

        if let routes = try object("/v1/routes/services/\(namespace)/\(service)"),
            let rules = routes["routes"] as? [[String: Any]], !rules.isEmpty
        {
            lines.append("routes     \(rules.count)")
            for rule in rules {
                let destinations = (rule["destinations"] as? [[String: Any]] ?? []).map { destination in
                    let subset = (destination["subset"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }
                        .map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                    return "\(destination["service"] ?? "?")" + (subset.isEmpty ? "" : "[\(subset)]")
                        + " \(destination["weight"] ?? 100)%"
                }
                lines.append("  \(rule["name"] ?? "?") → \(destinations.joined(separator: ", "))")
            }
        } else {
            lines.append("routes     (none: every call goes to the service as a whole)")
        }

        let intentions = try GetCommand.items(client, "/v1/intentions").filter {
            $0["destination"] as? String == service && ($0["namespace"] as? String ?? "default") == namespace
        }
        lines.append("intentions \(intentions.count)" + (intentions.isEmpty ? " (the mesh default decides)" : ""))
        for intention in intentions {
            var detail = "  \(intention["id"] ?? "?")  \(intention["action"] ?? "?")  from \(intention["source"] ?? "?")"
            if let methods = intention["methods"] as? [String], !methods.isEmpty {
                detail += "  methods \(methods.joined(separator: ","))"
            }
            if let path = intention["path"] { detail += "  path \(compact(path))" }
            if let headers = intention["headers"] { detail += "  headers \(compact(headers))" }
            lines.append(detail)
        }
        return lines.joined(separator: "\n")
    }
}
