import Foundation
import WeftProtocol

/// `weftctl describe KIND NAME`: everything the registry holds about one object,
/// with what an operator would otherwise look up by hand beside it: which
/// instances a route's destination selects now, in what order a destination's
/// intentions are tried, which routes send traffic to an instance.
public enum DescribeCommand {
    public enum Kind: String, CaseIterable, Sendable {
        case service, instance, policy, intention, defaults
        case serviceRoutes = "service-routes"
        case gatewayRoutes = "gateway-routes"

        /// What NAME is for this kind, for `--help` and refusals.
        var nameForm: String {
            switch self {
            case .service, .policy, .serviceRoutes, .gatewayRoutes: "NAME or NAMESPACE/NAME"
            case .instance: "ID, SERVICE/ID or NAMESPACE/SERVICE/ID"
            case .intention: "its id (weftctl get intentions)"
            case .defaults: "nothing"
            }
        }
    }

    public static func run(_ kind: Kind, _ name: String?, context: AdminContext) throws -> String {
        let registry: Registry
        do {
            registry = Registry(client: try AdminClient.registry(url: context.registryURL, token: context.adminToken))
        } catch {
            throw DevMeshError("--registry: \(error)")
        }
        do {
            guard let name else {
                guard kind == .defaults else { throw DevMeshError("describe \(kind.rawValue): give \(kind.nameForm)") }
                return try defaults(registry)
            }
            switch kind {
            case .service: return try service(try qualified(name), registry)
            case .instance: return try instance(name, registry)
            case .policy: return try policy(try qualified(name), registry)
            case .intention: return try intention(name, registry)
            case .defaults: throw DevMeshError("describe defaults takes no name")
            case .serviceRoutes: return try routes(try qualified(name), gateway: false, registry)
            case .gatewayRoutes: return try routes(try qualified(name), gateway: true, registry)
            }
        } catch let error as DevMeshError {
            throw error
        } catch {
            throw DevMeshError("cannot reach the registry at \(context.registryURL): \(error)")
        }
    }

    /// NAME or NAMESPACE/NAME, the namespace `default` when left out.
    static func qualified(_ name: String) throws(DevMeshError) -> (namespace: String, name: String) {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw DevMeshError("\(name.prefix(200)): expected NAME or NAMESPACE/NAME")
        }
        return parts.count == 2 ? (parts[0], parts[1]) : ("default", parts[0])
    }

    /// The registry's admin API, read.
    struct Registry {
        var client: AdminClient

        /// The object at `path`, or nil when the registry has none.
        func object(_ path: String) throws -> [String: Any]? {
            let reply = try client.call(.GET, path)
            if reply.status == 404 { return nil }
            guard reply.status == 200 else { throw GetCommand.refusal(reply, path) }
            return (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8))) as? [String: Any]
        }

        func items(_ path: String) throws -> [[String: Any]] { try GetCommand.items(client, path) }

        func instances(of namespace: String, _ service: String) throws -> [[String: Any]] {
            try items("/v1/instances").filter {
                $0["namespace"] as? String == namespace && $0["service"] as? String == service
            }
        }
    }

    // MARK: - Kinds

    static func service(_ name: (namespace: String, name: String), _ registry: Registry) throws -> String {
        let (namespace, service) = name
        guard let described = try registry.object("/v1/services/\(namespace)/\(service)") else {
            throw DevMeshError("service \(namespace)/\(service) is not in the registry (weftctl get services)")
        }
        var lines = ["service    \(namespace)/\(service)", "protocol   \(described["protocol"] ?? "http")"]

        let instances = try registry.instances(of: namespace, service)
        lines.append("instances  \(instances.count)")
        for instance in instances.sorted(by: { text($0["id"]) < text($1["id"]) }) {
            let labels = labelText(instance["labels"])
            lines.append(
                "  \(text(instance["id"]))  \(text(instance["address"])):\(text(instance["port"]))  \(text(instance["health"]))"
                    + (labels.isEmpty ? "" : "  \(labels)"))
        }

        if let policy = try registry.object("/v1/policies/\(namespace)/\(service)") {
            lines.append("policy")
            lines += policyLines(policy)
        } else {
            lines.append("policy     (none: the defaults apply, docs/traffic-policy.md)")
        }

        if let routes = try registry.object("/v1/routes/services/\(namespace)/\(service)"),
            let rules = routes["routes"] as? [[String: Any]], !rules.isEmpty
        {
            lines.append("routes     \(rules.count) (weftctl describe service-routes \(namespace)/\(service))")
            for rule in rules {
                let destinations = (rule["destinations"] as? [[String: Any]] ?? []).map { destination in
                    let subset = labelText(destination["subset"])
                    return text(destination["service"]) + (subset.isEmpty ? "" : "[\(subset)]")
                        + " \(destination["weight"] ?? 100)%"
                }
                let target = destinations.isEmpty ? answerText(rule) ?? "?" : destinations.joined(separator: ", ")
                lines.append("  \(text(rule["name"])) → \(target)")
            }
        } else {
            lines.append("routes     (none: every call goes to the service as a whole)")
        }

        let intentions = try evaluationOrder(
            registry.items("/v1/intentions").filter {
                $0["destination"] as? String == service && ($0["namespace"] as? String ?? "default") == namespace
            })
        let fallback = try defaultAction(registry)
        lines.append(
            "intentions \(intentions.count)"
                + (intentions.isEmpty ? " (the mesh default decides: \(fallback))" : ", tried in this order"))
        for intention in intentions {
            lines.append("  " + intentionSummary(intention))
        }
        if !intentions.isEmpty { lines.append("  otherwise: \(fallback) (the mesh default)") }
        return lines.joined(separator: "\n")
    }

    /// ID alone (searched across services), SERVICE/ID or NAMESPACE/SERVICE/ID.
    static func instance(_ name: String, _ registry: Registry) throws -> String {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw DevMeshError("\(name.prefix(200)): expected \(Kind.instance.nameForm)")
        }
        let candidates = try registry.items("/v1/instances").filter { instance in
            switch parts.count {
            case 1: text(instance["id"]) == parts[0]
            case 2:
                text(instance["namespace"]) == "default" && text(instance["service"]) == parts[0]
                    && text(instance["id"]) == parts[1]
            default:
                text(instance["namespace"]) == parts[0] && text(instance["service"]) == parts[1]
                    && text(instance["id"]) == parts[2]
            }
        }
        guard let instance = candidates.first else {
            throw DevMeshError("instance \(name) is not in the registry (weftctl get instances)")
        }
        guard candidates.count == 1 else {
            let names = candidates.map { "\(text($0["namespace"]))/\(text($0["service"]))/\(text($0["id"]))" }
            throw DevMeshError(
                "\(name) names \(candidates.count) instances; give one of \(names.joined(separator: ", "))")
        }
        let (namespace, service) = (text(instance["namespace"]), text(instance["service"]))
        var lines = [
            "instance   \(namespace)/\(service)/\(text(instance["id"]))",
            "address    \(text(instance["address"])):\(text(instance["port"]))",
            "zone       \(instance["zone"].map { text($0) } ?? "-")",
            "labels     \(labelText(instance["labels"]).isEmpty ? "-" : labelText(instance["labels"]))",
        ]
        var health = text(instance["health"])
        if instance["maintenance"] as? Bool == true {
            health += " (in maintenance; its own checks say \(text(instance["reported_health"])))"
        } else if let reported = instance["reported_health"] as? String, reported != health {
            health += " (reported \(reported))"
        }
        let serving = (instance["health"] as? String).flatMap(HealthState.init(rawValue:))?.receivesTraffic ?? false
        lines.append("health     \(health)" + (serving ? ", receives traffic" : ", receives no traffic"))
        lines.append("registered \(text(instance["registered_at"]))")
        lines.append(
            "expires    \(text(instance["expires_at"])) unless a heartbeat renews it (ttl \(text(instance["ttl"])))")

        // The route destinations that pick this instance, across every table.
        var selectedBy: [String] = []
        let tables =
            try registry.items("/v1/routes/services").map { ("service-routes", $0) }
            + registry.items("/v1/routes/gateways").map { ("gateway-routes", $0) }
        for (kind, table) in tables {
            for rule in table["routes"] as? [[String: Any]] ?? [] {
                for destination in rule["destinations"] as? [[String: Any]] ?? []
                where destination["service"] as? String == service
                    && (destination["namespace"] as? String ?? "default") == namespace
                    && selects(destination["subset"], instance)
                {
                    selectedBy.append(
                        "  \(kind) \(text(table["namespace"]))/\(text(table["name"])) rule \(text(rule["name"]))"
                            + " (\(destination["weight"] ?? 100)%)")
                }
            }
        }
        lines.append(
            "routes     "
                + (selectedBy.isEmpty
                    ? "none name it (it gets calls to \(service) that no route splits)" : "\(selectedBy.count)"))
        lines += selectedBy
        return lines.joined(separator: "\n")
    }

    static func policy(_ name: (namespace: String, name: String), _ registry: Registry) throws -> String {
        guard let policy = try registry.object("/v1/policies/\(name.namespace)/\(name.name)") else {
            let exists = try registry.object("/v1/services/\(name.namespace)/\(name.name)") != nil
            throw DevMeshError(
                "no policy for \(name.namespace)/\(name.name)"
                    + (exists
                        ? ": the defaults apply (docs/traffic-policy.md)"
                        : ", and no such service (weftctl get services)"))
        }
        var lines = ["policy     \(name.namespace)/\(name.name)"]
        // The registry stores a policy with its defaults filled in: what is
        // shown is what the sidecars enforce.
        lines += policyLines(policy)
        if policy["rate_limit"] == nil { lines.append("  rate_limit: none") }
        return lines.joined(separator: "\n")
    }

    static func intention(_ id: String, _ registry: Registry) throws -> String {
        guard !id.contains("/"), !id.isEmpty else {
            throw DevMeshError("\(id.prefix(200)): an intention is named by its id (weftctl get intentions)")
        }
        let all = try registry.items("/v1/intentions")
        guard let intention = all.first(where: { text($0["id"]) == id }) else {
            throw DevMeshError("intention \(id) is not in the registry (weftctl get intentions)")
        }
        let namespace = intention["namespace"] as? String ?? "default"
        let destination = text(intention["destination"])
        var lines = [
            "intention   \(id)", "source      \(text(intention["source"]))", "destination \(namespace)/\(destination)",
            "action      \(text(intention["action"]))",
        ]
        if let methods = intention["methods"] as? [String], !methods.isEmpty {
            lines.append("methods     \(methods.joined(separator: ","))")
        }
        if let path = intention["path"] { lines.append("path        \(compact(path))") }
        if let headers = intention["headers"] { lines.append("headers     \(compact(headers))") }
        if let description = intention["description"] as? String { lines.append("description \(description)") }
        // Where it stands among the intentions the destination's sidecars try.
        let order = evaluationOrder(
            all.filter {
                text($0["destination"]) == destination && ($0["namespace"] as? String ?? "default") == namespace
            })
        let position = (order.firstIndex { text($0["id"]) == id } ?? 0) + 1
        lines.append(
            "order       \(position) of \(order.count) for \(namespace)/\(destination)"
                + " (exact identities first, then namespaces, then *; deny before allow)")
        for (index, other) in order.enumerated() {
            lines.append("  \(index + 1). " + intentionSummary(other) + (index + 1 == position ? "  ← this one" : ""))
        }
        lines.append("  otherwise: \(try defaultAction(registry)) (the mesh default)")
        return lines.joined(separator: "\n")
    }

    static func defaults(_ registry: Registry) throws -> String {
        let defaults = try registry.object("/v1/defaults") ?? [:]
        return [
            "default_action \(defaults["default_action"].map { text($0) } ?? "deny")"
                + " (what a call no intention speaks about gets)",
            "trust_domain   \(defaults["trust_domain"].map { text($0) } ?? "weft.local")",
        ].joined(separator: "\n")
    }

    static func routes(_ name: (namespace: String, name: String), gateway: Bool, _ registry: Registry) throws -> String
    {
        let kind = gateway ? "gateway-routes" : "service-routes"
        let path = "/v1/routes/\(gateway ? "gateways" : "services")/\(name.namespace)/\(name.name)"
        guard let table = try registry.object(path) else {
            throw DevMeshError("no \(kind) \(name.namespace)/\(name.name) in the registry (weftctl get routes)")
        }
        let rules = table["routes"] as? [[String: Any]] ?? []
        var lines = [
            "\(kind) \(name.namespace)/\(name.name)",
            "rules   \(rules.count), tried in order; the first that matches takes the request",
        ]
        let instances = try registry.items("/v1/instances")
        for (index, rule) in rules.enumerated() {
            lines.append("\(index + 1). \(text(rule["name"]))")
            let match = rule["match"] as? [String: Any] ?? [:]
            lines.append("   match  " + (match.isEmpty ? "every request" : compact(match)))
            if let answer = answerText(rule) { lines.append("   → \(answer)") }
            for destination in rule["destinations"] as? [[String: Any]] ?? [] {
                let namespace = destination["namespace"] as? String ?? "default"
                let service = text(destination["service"])
                let subset = labelText(destination["subset"])
                let chosen = instances.filter {
                    text($0["namespace"]) == namespace && text($0["service"]) == service
                        && selects(destination["subset"], $0)
                }
                let serving = chosen.filter {
                    ($0["health"] as? String).flatMap(HealthState.init(rawValue:))?.receivesTraffic ?? false
                }
                var line = "   → \(namespace)/\(service)" + (subset.isEmpty ? "" : " [\(subset)]")
                line +=
                    " \(destination["weight"] ?? 100)%: \(chosen.count) instance(s), \(serving.count) receiving traffic"
                if serving.isEmpty { line += " (no endpoint: its share of requests fails with 503)" }
                lines.append(line)
            }
            for key in rule.keys.sorted()
            where !["name", "match", "destinations", "redirect", "direct_response"].contains(key) {
                lines.append("   \(key)  \(compact(rule[key]!))")
            }
        }
        if rules.isEmpty {
            lines.append(
                "(no rules: "
                    + (gateway ? "the gateway answers 404 to every request)" : "calls go to the service as a whole)"))
        }
        return lines.joined(separator: "\n")
    }

    // MARK: - Pieces

    /// Intentions in the order a sidecar tries them: exact identities before
    /// namespaces before `*`, deny before allow at the same specificity, then
    /// as stored (ProxySnapshot sorts the same way).
    static func evaluationOrder(_ intentions: [[String: Any]]) -> [[String: Any]] {
        func specificity(_ intention: [String: Any]) -> Int {
            (try? IdentityPattern(validating: text(intention["source"])))?.specificity ?? 0
        }
        return intentions.enumerated().sorted { left, right in
            let (l, r) = (left.element, right.element)
            if specificity(l) != specificity(r) { return specificity(l) > specificity(r) }
            let (lDeny, rDeny) = (text(l["action"]) == "deny", text(r["action"]) == "deny")
            if lDeny != rDeny { return lDeny }
            return left.offset < right.offset
        }.map(\.element)
    }

    static func intentionSummary(_ intention: [String: Any]) -> String {
        var detail = "\(text(intention["id"]))  \(text(intention["action"]))  from \(text(intention["source"]))"
        if let methods = intention["methods"] as? [String], !methods.isEmpty {
            detail += "  methods \(methods.joined(separator: ","))"
        }
        if let path = intention["path"] { detail += "  path \(compact(path))" }
        if let headers = intention["headers"] { detail += "  headers \(compact(headers))" }
        return detail
    }

    static func defaultAction(_ registry: Registry) throws -> String {
        try registry.object("/v1/defaults")?["default_action"].map { text($0) } ?? "deny"
    }

    static func policyLines(_ policy: [String: Any]) -> [String] {
        policy.keys.sorted().filter { !["service", "namespace", "modify_version"].contains($0) }.map {
            "  \($0): \(compact(policy[$0]!))"
        }
    }

    /// A rule that answers by itself: what it answers.
    static func answerText(_ rule: [String: Any]) -> String? {
        if let redirect = rule["redirect"] { return "redirect \(compact(redirect))" }
        if let response = rule["direct_response"] { return "answers \(compact(response))" }
        return nil
    }

    /// Whether an instance carries every label of a destination's subset.
    static func selects(_ subset: Any?, _ instance: [String: Any]) -> Bool {
        let labels = instance["labels"] as? [String: Any] ?? [:]
        return (subset as? [String: Any] ?? [:]).allSatisfy { key, value in
            labels[key].map { text($0) } == text(value)
        }
    }

    static func labelText(_ labels: Any?) -> String {
        (labels as? [String: Any] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\(text($0.value))" }
            .joined(separator: ",")
    }

    static func text(_ value: Any?) -> String {
        switch value {
        case let string as String: return string
        case let number as NSNumber: return number.stringValue
        case nil, is NSNull: return "-"
        default: return compact(value!)
        }
    }

    static func compact(_ value: Any) -> String {
        guard JSONSerialization.isValidJSONObject([value]),
            let data = try? JSONSerialization.data(
                withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }
}
