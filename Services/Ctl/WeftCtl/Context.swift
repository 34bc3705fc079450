import Foundation
import NIOHTTP1
import WeftService

/// Where weftctl's admin commands send their calls: flags first, then `WEFT_*`
/// variables, then the dev mesh's context file (`<state-dir>/context.json`,
/// written by `weftctl dev up`), so that after `dev up` plain `weftctl get
/// instances` works.
public struct AdminContext: Sendable {
    public var registryURL: String
    public var adminToken: String

    public static func resolve(
        registry: String?, adminTokenFile: String?, stateDirectory: String, environment: [String: String],
        context name: String? = nil
    ) throws(DevMeshError) -> AdminContext {
        let saved = DevMesh.savedContext(stateDirectory: stateDirectory)
        let context = try ContextFile.entry(named: name, environment: environment)
        guard let url = registry ?? environment["WEFT_REGISTRY"] ?? context?.registry ?? saved?.registry else {
            throw DevMeshError(
                "no registry: pass --registry http://host:port (or WEFT_REGISTRY), or start one with `weftctl dev up`")
        }
        let token: String
        if let file = adminTokenFile ?? environment["WEFT_ADMIN_TOKEN_FILE"] ?? context?.adminTokenFile
            ?? saved?.adminTokenFile
        {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw DevMeshError("cannot read the admin token file \(file)")
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let value = environment["WEFT_ADMIN_TOKEN"] {
            token = value
        } else {
            throw DevMeshError("no admin token: pass --admin-token-file (or WEFT_ADMIN_TOKEN_FILE, WEFT_ADMIN_TOKEN)")
        }
        return AdminContext(registryURL: url, adminToken: token)
    }
}

/// `weftctl get`: the registry's objects as an aligned table or JSON.
public enum GetCommand {
    public enum Resource: String, CaseIterable, Sendable {
        case services, instances, intentions, routes, policies, defaults
    }

    /// Every item of the listing at `path`, following `next` cursors.
    static func items(_ client: AdminClient, _ path: String) throws -> [[String: Any]] {
        // A path with a query of its own (`?identity=…`) takes the paging after it.
        let separator = path.contains("?") ? "&" : "?"
        var all: [[String: Any]] = []
        var cursor: String?
        var pages = 0
        repeat {
            // A registry that kept answering with a cursor would loop forever.
            pages += 1
            guard pages <= 1000 else {
                throw DevMeshError("\(client.name) kept paging past 1,000 pages of \(path); stopped")
            }
            let query = "limit=1000" + (cursor.map { "&after=\($0)" } ?? "")
            let reply = try client.call(.GET, path + separator + query)
            guard reply.status == 200 else { throw refusal(reply, path, from: client.name) }
            let object = (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8))) as? [String: Any] ?? [:]
            all += object["items"] as? [[String: Any]] ?? []
            cursor = object["next"] as? String
        } while cursor != nil
        return all
    }

    static func refusal(
        _ reply: AdminClient.Reply, _ path: String, method: String = "GET", from name: String = "the registry"
    ) -> DevMeshError {
        let detail = AdminClient.member("detail", in: reply.body) ?? reply.body.prefix(300).description
        let hint = reply.status == 401 ? " (is the admin token \(name)'s?)" : ""
        return DevMeshError("\(name) answered \(reply.status) to \(method) \(path): \(detail)\(hint)")
    }

    /// The output for `resource`: a table, or `json`.
    public static func run(_ resource: Resource, context: AdminContext, json: Bool) throws -> String {
        let client: AdminClient
        do {
            client = try AdminClient.registry(url: context.registryURL, token: context.adminToken)
        } catch {
            throw DevMeshError("--registry: \(error)")
        }
        let rows: [[String: Any]]
        do {
            switch resource {
            case .routes:
                rows =
                    try items(client, "/v1/routes/gateways").map { $0.merging(["kind": "gateway"]) { $1 } }
                    + items(client, "/v1/routes/services").map { $0.merging(["kind": "service"]) { $1 } }
            case .defaults:
                // One object, not a listing.
                let reply = try client.call(.GET, "/v1/defaults")
                guard reply.status == 200 else { throw refusal(reply, "/v1/defaults") }
                rows = [(try? JSONSerialization.jsonObject(with: Data(reply.body.utf8))) as? [String: Any] ?? [:]]
            default:
                rows = try items(client, "/v1/\(resource.rawValue)")
            }
        } catch let error as DevMeshError {
            throw error
        } catch {
            throw DevMeshError("cannot reach the registry at \(context.registryURL): \(error)")
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
            return String(decoding: data, as: UTF8.self)
        }
        func text(_ value: Any?) -> String {
            switch value {
            case let string as String: return string
            case let number as NSNumber: return number.stringValue
            case let object as [String: Any]:
                return object.keys.sorted().map { "\($0)=\(text(object[$0]))" }.joined(separator: ",")
            case nil, is NSNull: return "-"
            default: return "\(value!)"
            }
        }
        let columns: [(String, ([String: Any]) -> String)]
        switch resource {
        case .services:
            columns = [
                ("NAMESPACE", { text($0["namespace"]) }), ("NAME", { text($0["name"]) }),
                ("PROTOCOL", { text($0["protocol"]) }),
            ]
        case .instances:
            columns = [
                ("NAMESPACE", { text($0["namespace"]) }), ("SERVICE", { text($0["service"]) }),
                ("ID", { text($0["id"]) }), ("ADDRESS", { "\(text($0["address"])):\(text($0["port"]))" }),
                ("HEALTH", { text($0["health"]) }), ("ZONE", { text($0["zone"]) }), ("LABELS", { text($0["labels"]) }),
            ]
        case .intentions:
            columns = [
                ("ID", { text($0["id"]) }), ("SOURCE", { text($0["source"]) }),
                ("DESTINATION", { text($0["destination"]) }), ("ACTION", { text($0["action"]) }),
            ]
        case .policies:
            columns = [
                ("NAMESPACE", { text($0["namespace"]) }), ("SERVICE", { text($0["service"]) }),
                ("BALANCER", { text(($0["load_balancer"] as? [String: Any])?["type"]) }),
                ("TIMEOUTS", { text($0["timeouts"]) }),
                (
                    "RATE-LIMIT",
                    { ($0["rate_limit"] as? [String: Any])?["requests_per_second"].map { text($0) + "/s" } ?? "-" }
                ),
            ]
        case .defaults:
            columns = [
                ("DEFAULT-ACTION", { text($0["default_action"]) }), ("TRUST-DOMAIN", { text($0["trust_domain"]) }),
            ]
        case .routes:
            columns = [
                ("KIND", { text($0["kind"]) }),
                ("OWNER", { "\(text($0["namespace"]))/\(text($0["name"]))" }),
                (
                    "RULES",
                    { row in
                        (row["routes"] as? [[String: Any]] ?? []).map { text($0["name"]) }.joined(separator: ",")
                    }
                ),
            ]
        }
        return Table.render(header: columns.map(\.0), rows: rows.map { row in columns.map { $0.1(row) } })
    }
}

/// Aligned columns, two spaces apart, the header first.
enum Table {
    static func render(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// `weftctl route explain` and `weftctl proxy cert`: a gateway's or a proxy's
/// admin endpoints, read for an operator.
public enum ProxyCommands {
    /// The gateway admin address dev up recorded, if any.
    public static func savedGatewayAdmin(stateDirectory: String) -> String? {
        guard let data = FileManager.default.contents(atPath: stateDirectory + "/context.json"),
            let object = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any]
        else { return nil }
        return object["gateway_admin"] as? String
    }

    static func client(_ url: String) throws(DevMeshError) -> AdminClient {
        do {
            return try AdminClient.registry(url: url, token: "")
        } catch {
            throw DevMeshError("--admin: \(error)")
        }
    }

    /// Asks the gateway which rule would take a request; returns the answer as
    /// text (or the JSON itself).
    public static func explain(
        admin: String, method: String, host: String, path: String, headers: [String: String], json: Bool
    ) throws -> String {
        let query: [String: Any] = ["method": method, "host": host, "path": path, "headers": headers]
        let body = String(
            decoding: try JSONSerialization.data(withJSONObject: query, options: [.sortedKeys]), as: UTF8.self)
        let reply: AdminClient.Reply
        do {
            reply = try client(admin).call(.POST, "/routes/explain", body)
        } catch let error as DevMeshError {
            throw error
        } catch {
            throw DevMeshError("cannot reach the gateway's admin port at \(admin): \(error)")
        }
        guard reply.status == 200 else {
            throw DevMeshError("the gateway answered \(reply.status): \(reply.body.prefix(300))")
        }
        if json { return reply.body }
        let object = (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8))) as? [String: Any] ?? [:]
        var lines: [String] = []
        for rule in object["rules"] as? [[String: Any]] ?? [] {
            let name = rule["route"] as? String ?? "?"
            if rule["matched"] as? Bool == true {
                lines.append("  \(name): matches")
            } else {
                lines.append("  \(name): no — \(rule["reason"] as? String ?? "")")
            }
        }
        var text = "snapshot version \(object["version"] ?? "?")\n" + lines.joined(separator: "\n")
        if let matched = object["matched"] as? String {
            text += "\n→ rule \(matched)"
            for destination in object["destinations"] as? [[String: Any]] ?? [] {
                let subset = (destination["subset"] as? [String: String] ?? [:]).sorted { $0.key < $1.key }
                    .map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                text += "\n  \(destination["namespace"] ?? "default")/\(destination["service"] ?? "?")"
                text += subset.isEmpty ? "" : " [\(subset)]"
                text += ", weight \(destination["weight"] ?? "?"), \(destination["endpoints"] ?? 0) endpoint(s)"
                if let chosen = destination["chosen_by"] as? String { text += ", chosen by \(chosen)" }
            }
        } else {
            text += "\n→ no rule matches: the gateway answers 404 no-route"
        }
        if let outcome = object["outcome"] as? String { text += "\n\(outcome)" }
        return text
    }

    /// A JSON object from a proxy's admin port, and the body as sent.
    static func adminObject(_ admin: String, _ path: String) throws -> ([String: Any], String) {
        let reply: AdminClient.Reply
        do {
            reply = try client(admin).call(.GET, path)
        } catch let error as DevMeshError {
            throw error
        } catch {
            throw DevMeshError("cannot reach the admin port at \(admin): \(error)")
        }
        guard reply.status == 200,
            let object = (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8))) as? [String: Any]
        else { throw DevMeshError("the admin port answered \(reply.status): \(reply.body.prefix(300))") }
        return (object, reply.body)
    }

    /// The snapshot a proxy runs on, as its admin port reports it (JSON).
    public static func config(admin: String) throws -> String {
        let (_, body) = try adminObject(admin, "/config")
        return body.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The endpoints a proxy balances over, as its admin port reports them.
    public static func endpoints(admin: String, json: Bool) throws -> String {
        let (object, body) = try adminObject(admin, "/endpoints")
        if json { return body.trimmingCharacters(in: .whitespacesAndNewlines) }
        let rows = (object["endpoints"] as? [[String: Any]] ?? []).map { item -> [String] in
            let latency = (item["latency_ms"] as? Double).map { String(format: "%.2f ms", $0) } ?? "-"
            let ejected =
                (item["ejected_for_ms"] as? Int).map { $0 > 0 ? String(format: "%.1f s", Double($0) / 1000) : "-" }
                ?? "-"
            return [
                "\(item["upstream"] ?? "?")", "\(item["endpoint"] ?? "?")", (item["zone"] as? String) ?? "-",
                "\(item["weight"] ?? "?")", "\(item["in_flight"] ?? 0)", latency,
                "\(item["consecutive_failures"] ?? 0)", ejected, "\(item["ejections"] ?? 0)",
                (item["warming"] as? Bool) == true ? "yes" : "-",
            ]
        }
        if rows.isEmpty { return "no upstream endpoints (the proxy has no upstreams, or none has endpoints)" }
        return Table.render(
            header: [
                "UPSTREAM", "ENDPOINT", "ZONE", "WEIGHT", "IN-FLIGHT", "LATENCY", "FAILURES", "EJECTED", "EJECTIONS",
                "WARMING",
            ],
            rows: rows)
    }

    /// A proxy's certificate as its admin port reports it.
    public static func certificate(admin: String) throws -> String {
        let (object, _) = try adminObject(admin, "/certificate")
        let rows = ["identity", "serial", "source", "renewals", "expires_in_seconds", "trust_roots", "revoked_serials"]
        return Table.render(header: ["FIELD", "VALUE"], rows: rows.map { [$0, "\(object[$0] ?? "-")"] })
    }
}
