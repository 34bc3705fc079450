import Foundation

/// `weftctl ca …`: the CA's objects over its admin API (mutual trust through
/// the CA's bundle, the admin token): the certificates it issued, revoking
/// one, and its roots.
public enum AuthorityCommands {
    /// Where the CA is and how to trust and call it.
    public struct Context: Sendable {
        public var url: String
        public var bundleFile: String
        public var adminToken: String
        public var trustDomain: String

        public init(url: String, bundleFile: String, adminToken: String, trustDomain: String) {
            self.url = url
            self.bundleFile = bundleFile
            self.adminToken = adminToken
            self.trustDomain = trustDomain
        }

        /// From flags, then `WEFT_CA`, `WEFT_CA_BUNDLE`, `WEFT_CA_TOKEN_FILE`, then
        /// the context; the token last from `WEFT_ADMIN_TOKEN_FILE` (one token
        /// for both services, as `weftctl dev up` makes them).
        public static func resolve(
            ca: String?, bundle: String?, adminTokenFile: String?, trustDomain: String?, environment: [String: String],
            context name: String? = nil
        ) throws(DevMeshError) -> Context {
            let context = try ContextFile.entry(named: name, environment: environment)
            guard let url = ca ?? environment["WEFT_CA"] ?? context?.ca else {
                throw DevMeshError("no CA: pass --ca https://host:port or set WEFT_CA")
            }
            guard let bundle = bundle ?? environment["WEFT_CA_BUNDLE"] ?? context?.caBundle else {
                throw DevMeshError("no trust bundle for the CA: pass --ca-bundle FILE or set WEFT_CA_BUNDLE")
            }
            guard
                let file = adminTokenFile ?? environment["WEFT_CA_TOKEN_FILE"] ?? context?.caTokenFile
                    ?? environment["WEFT_ADMIN_TOKEN_FILE"]
            else {
                throw DevMeshError("no admin token: pass --ca-token-file FILE or set WEFT_CA_TOKEN_FILE")
            }
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw DevMeshError("cannot read the admin token file \(file)")
            }
            return Context(
                url: url, bundleFile: bundle, adminToken: text.trimmingCharacters(in: .whitespacesAndNewlines),
                trustDomain: trustDomain ?? environment["WEFT_TRUST_DOMAIN"] ?? context?.trustDomain ?? "weft.local")
        }

        func client() throws -> AdminClient {
            do {
                return try AdminClient.authority(
                    url: url, bundleFile: bundleFile, trustDomain: trustDomain, token: adminToken)
            } catch {
                throw DevMeshError("--ca: \(error)")
            }
        }
    }

    /// Every certificate the CA issued (or those of one identity), newest
    /// serials last, with whether each is revoked and when it expires.
    public static func certificates(_ context: Context, identity: String?, json: Bool) throws -> String {
        let now = Date()
        let path = "/v1/certificates" + (identity.map { "?identity=\(percentEncoded($0))" } ?? "")
        let items = try GetCommand.items(context.client(), path)
        if json { return try encode(items) }
        let rows = items.map { item -> [String] in
            let notAfter = item["not_after"] as? String ?? "?"
            let state =
                (item["revoked_at"] as? String).map { _ in "revoked" }
                ?? (timestamp(notAfter).map { $0 < now ? "expired" : "valid" } ?? "?")
            let left = timestamp(notAfter).map { duration($0.timeIntervalSince(now)) } ?? "?"
            return [
                item["serial"] as? String ?? "?", item["identity"] as? String ?? "?", item["via"] as? String ?? "?",
                notAfter, left, state,
            ]
        }
        return Table.render(header: ["SERIAL", "IDENTITY", "VIA", "NOT AFTER", "LEFT", "STATE"], rows: rows)
    }

    /// Revokes `serial`: peers refuse it once they poll the bundle.
    public static func revoke(_ context: Context, serial: String, reason: String?) throws -> String {
        let body = reason.map { #"{"reason": \#(quoted($0))}"# } ?? "{}"
        let path = "/v1/certificates/\(percentEncoded(serial))/revoke"
        let reply = try context.client().call(.POST, path, body)
        guard reply.status == 200 else { throw GetCommand.refusal(reply, path, method: "POST", from: "the CA") }
        return "certificate \(serial): revoked"
    }

    /// The CA's roots with their state (published, active, retired).
    public static func roots(_ context: Context, json: Bool) throws -> String {
        let reply = try context.client().call(.GET, "/v1/roots")
        guard reply.status == 200 else { throw GetCommand.refusal(reply, "/v1/roots", from: "the CA") }
        let object = (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8))) as? [String: Any] ?? [:]
        let items = object["items"] as? [[String: Any]] ?? []
        if json { return try encode(items) }
        let rows = items.map { item in
            ["generation", "state", "created_at", "activated_at", "retired_at"].map { key in
                item[key].map { $0 is NSNull ? "-" : "\($0)" } ?? "-"
            }
        }
        return Table.render(header: ["GENERATION", "STATE", "CREATED", "ACTIVATED", "RETIRED"], rows: rows)
    }

    /// One step of a root rotation: `publish` a new generation (trusted
    /// everywhere, signing nothing yet), `activate` it (it signs from now on),
    /// `retire` an old one (no longer trusted). Answers the root's new state.
    public static func rotate(_ context: Context, step: String, generation: String?) throws -> String {
        let path: String
        switch (step, generation) {
        case ("publish", nil): path = "/v1/roots"
        case ("activate", let generation?), ("retire", let generation?):
            path = "/v1/roots/\(percentEncoded(generation))/\(step)"
        case ("publish", _):
            throw DevMeshError("publish makes a new generation: give no generation")
        default:
            throw DevMeshError("\(step) needs the root's generation (weftctl ca roots lists them)")
        }
        let reply = try context.client().call(.POST, path, "{}")
        guard (200..<300).contains(reply.status) else {
            throw GetCommand.refusal(reply, path, method: "POST", from: "the CA")
        }
        let root = (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8))) as? [String: Any] ?? [:]
        return "root generation \(root["generation"] ?? "?"): \(root["state"] ?? "?")"
    }

    /// Join tokens: their identity, uses and expiry (never their secret,
    /// which is shown once, when made).
    public static func tokens(_ context: Context, json: Bool) throws -> String {
        let items = try GetCommand.items(context.client(), "/v1/join-tokens")
        if json { return try encode(items) }
        let rows = items.map { item in
            ["id", "identity", "uses", "max_uses", "expires_at", "revoked_at"].map { key in
                item[key].map { $0 is NSNull ? "-" : "\($0)" } ?? "-"
            }
        }
        return Table.render(header: ["ID", "IDENTITY", "USES", "MAX", "EXPIRES", "REVOKED"], rows: rows)
    }

    /// A new join token for `identity`: its secret, printed once.
    public static func createToken(_ context: Context, identity: String, uses: Int, ttl: String?) throws -> String {
        var object: [String: Any] = ["identity": identity, "max_uses": uses]
        if let ttl { object["ttl"] = ttl }
        let body = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        let reply = try context.client().call(.POST, "/v1/join-tokens", body)
        guard reply.status == 201 else {
            throw GetCommand.refusal(reply, "/v1/join-tokens", method: "POST", from: "the CA")
        }
        let token = (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8))) as? [String: Any] ?? [:]
        return "\(token["secret"] ?? "?")"
    }

    /// Revokes join token `id`: no workload joins with it any more.
    public static func revokeToken(_ context: Context, id: String) throws -> String {
        let path = "/v1/join-tokens/\(percentEncoded(id))"
        let reply = try context.client().call(.DELETE, path)
        guard reply.status == 200 else { throw GetCommand.refusal(reply, path, method: "DELETE", from: "the CA") }
        return "join token \(id): revoked"
    }

    static func encode(_ items: [[String: Any]]) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: items, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    static func timestamp(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// `3d4h`, `2h10m`, `45m`, `30s`; negative as `expired`.
    static func duration(_ seconds: TimeInterval) -> String {
        guard seconds > 0 else { return "expired" }
        let total = Int(seconds)
        let (days, hours, minutes) = (total / 86_400, total % 86_400 / 3600, total % 3600 / 60)
        if days > 0 { return "\(days)d\(hours)h" }
        if hours > 0 { return "\(hours)h\(minutes)m" }
        if minutes > 0 { return "\(minutes)m" }
        return "\(total)s"
    }

    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))
            ?? text
    }

    static func quoted(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [])) ?? Data("[\"\"]".utf8)
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }
}
