import Foundation
import WeftProtocol
import Yams

/// `weftctl apply -f FILE` and `weftctl delete KIND NAME`: registry objects
/// from files, as kubectl applies manifests.
///
/// A file holds one JSON document, an array of them, or several one after the
/// other; each names its `kind` and is otherwise exactly what the registry's API
/// takes:
///
/// | kind | identified by | registry path |
/// | --- | --- | --- |
/// | `service` | `namespace`, `name` | `/v1/services/{ns}/{name}` |
/// | `policy` | `namespace`, `service` | `/v1/policies/{ns}/{service}` |
/// | `service-routes`, `gateway-routes` | `namespace`, `name`, with `routes` | `/v1/routes/{services,gateways}/{ns}/{name}` |
/// | `intention` | its whole content (intentions have no name) | `/v1/intentions` |
/// | `defaults` | — | `/v1/defaults` |
///
/// Each document is checked here first with the same validation the registry
/// runs (so a typo is reported with its field path before anything is sent),
/// compared with what the registry holds, and written only when it differs.
/// `--dry-run` says what would change, field by field, and writes nothing.
public enum ApplyCommand {
    public enum Kind: String, CaseIterable, Sendable {
        case service, policy, intention, defaults
        case serviceRoutes = "service-routes"
        case gatewayRoutes = "gateway-routes"
    }

    /// One document of a file, validated and in the registry's form.
    public struct Document: Sendable {
        public var kind: Kind
        /// `documents[3]`, for messages.
        public var position: String
        /// `policy default/payments`, for messages.
        public var label: String
        /// Where it is read and written; for intentions, the collection.
        public var path: String
        /// The normalized JSON the registry would store (sorted keys).
        public var body: String
    }

    // MARK: Reading files

    /// The most `apply -f` reads: far more than any mesh's configuration, far
    /// less than would strain the machine running weftctl.
    public static let maximumFileBytes = 16 << 20

    /// The most values a YAML file may expand to once its aliases are followed:
    /// an alias repeats its anchor's whole tree, so nested aliases can make a
    /// file of a few hundred bytes stand for billions of values.
    static let maximumYAMLValues = 1_000_000

    /// The text of `file` (`-`: standard input), refused when it is larger than
    /// `maximumFileBytes` or not UTF-8.
    public static func read(_ file: String) throws(DevMeshError) -> String {
        let handle: FileHandle
        if file == "-" {
            handle = FileHandle.standardInput
        } else {
            guard let opened = FileHandle(forReadingAtPath: file) else {
                throw DevMeshError("cannot read \(file): \(String(cString: strerror(errno)))")
            }
            handle = opened
        }
        defer { if file != "-" { try? handle.close() } }
        var data = Data()
        while true {
            let chunk: Data?
            do {
                chunk = try handle.read(upToCount: 1 << 20)
            } catch {
                throw DevMeshError("cannot read \(file): \(error)")
            }
            guard let chunk, !chunk.isEmpty else { break }
            data.append(chunk)
            guard data.count <= maximumFileBytes else {
                throw DevMeshError("\(file): larger than \(maximumFileBytes >> 20) MiB; split it into several files")
            }
        }
        guard let text = String(data: data, encoding: .utf8) else { throw DevMeshError("\(file): not UTF-8 text") }
        return text
    }

    /// The documents of `text`: a JSON object, an array of objects, or several
    /// objects one after the other; or YAML, one document per `---`.
    public static func documents(in text: String, file: String) throws(DevMeshError) -> [Document] {
        let values: [Any]
        let trimmed = text.drop { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        if trimmed.first == "{" || trimmed.first == "[" {
            do {
                values = try Self.jsonValues(text)
            } catch {
                throw DevMeshError("\(file): not JSON: \(error)")
            }
        } else {
            do {
                values = try Self.yamlValues(text)
            } catch {
                throw DevMeshError("\(file): not YAML: \(error)")
            }
        }
        guard !values.isEmpty else { throw DevMeshError("\(file): no documents") }
        var documents: [Document] = []
        for (index, value) in values.enumerated() {
            let position = "documents[\(index)]"
            guard var object = value as? [String: Any] else {
                throw DevMeshError("\(file): \(position): expected an object with a kind")
            }
            guard let kindText = object.removeValue(forKey: "kind") as? String else {
                throw DevMeshError(
                    "\(file): \(position).kind: missing; expected one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            guard let kind = Kind(rawValue: kindText) else {
                throw DevMeshError(
                    "\(file): \(position).kind: unknown kind \"\(kindText.prefix(40))\"; expected one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            do {
                documents.append(try document(kind, object, position: position))
            } catch let error as ProtocolError {
                let field = error.path.description.isEmpty ? "" : ".\(error.path)"
                throw DevMeshError("\(file): \(position)\(field): \(error.reason)")
            } catch let error as DevMeshError {
                throw DevMeshError("\(file): \(error.description)")
            } catch {
                throw DevMeshError("\(file): \(position): \(error)")
            }
        }
        return documents
    }

    /// Every YAML document in `text`, in order (a list among them holds
    /// documents too). Plain scalars resolve as YAML's core schema does (null,
    /// booleans, numbers, strings); a date stays a string.
    static func yamlValues(_ text: String) throws -> [Any] {
        let resolver = Resolver.default.removing(.timestamp).removing(.merge).removing(.value)
        var values: [Any] = []
        // Root by root, so a syntax error is thrown here (a YamlSequence would
        // end quietly at it, as if the file had ended).
        let parser = try Parser(yaml: text, resolver: resolver)
        while let root = try parser.nextRoot() {
            var budget = maximumYAMLValues
            try countValues(root, budget: &budget)
            let document = root.any
            // An empty document (a trailing `---`) is nothing.
            if document is NSNull { continue }
            guard JSONSerialization.isValidJSONObject([document]) else {
                throw DevMeshError("a document holds a value JSON cannot (an anchor to itself, a binary)")
            }
            values.append(document)
        }
        return values.flatMap { ($0 as? [Any]) ?? [$0] }
    }

    /// Walks `node` as `any` would expand it, aliases followed, and refuses it
    /// once it holds more than the budget.
    static func countValues(_ node: Node, budget: inout Int) throws(DevMeshError) {
        budget -= 1
        guard budget >= 0 else {
            throw DevMeshError(
                "a document expands to more than \(maximumYAMLValues) values (aliases repeat what their anchor holds)")
        }
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping {
                try countValues(key, budget: &budget)
                try countValues(value, budget: &budget)
            }
        case .sequence(let sequence):
            for item in sequence { try countValues(item, budget: &budget) }
        case .scalar, .alias:
            break
        }
    }

    /// `json` (what a command printed for `-o json`) as YAML.
    public static func yaml(fromJSON json: String) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
        return try dump(object: object, indent: 2, sortKeys: true)
    }

    /// Every top-level JSON value in `text`, in order.
    static func jsonValues(_ text: String) throws -> [Any] {
        let data = Data(text.utf8)
        if let whole = try? JSONSerialization.jsonObject(with: data) {
            return (whole as? [Any]) ?? [whole]
        }
        // Several values one after the other: split at each top-level closing
        // brace (strings and escapes respected).
        var values: [Any] = []
        var depth = 0
        var inString = false
        var escaped = false
        var start: Int?
        let bytes = Array(text.utf8)
        for (index, byte) in bytes.enumerated() {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                if depth == 0 { start = index }
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0, let begin = start {
                    values.append(try JSONSerialization.jsonObject(with: Data(bytes[begin...index])))
                    start = nil
                }
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                break
            default:
                if depth == 0 {
                    throw DevMeshError("unexpected \"\(Character(Unicode.Scalar(byte)))\" between documents")
                }
            }
        }
        guard depth == 0, start == nil else { throw DevMeshError("the last document is not closed") }
        // An array among them holds documents too.
        return values.flatMap { ($0 as? [Any]) ?? [$0] }
    }

    private static func document(_ kind: Kind, _ object: [String: Any], position: String) throws -> Document {
        let data = try JSONSerialization.data(withJSONObject: object)
        func normalized<T: Codable>(_ type: T.Type) throws -> (T, String) {
            let value = try WeftJSON.decode(T.self, from: data)
            return (value, String(decoding: try WeftJSON.encode(value), as: UTF8.self))
        }
        switch kind {
        case .service:
            let (service, body) = try normalized(Service.self)
            let reference = service.reference
            return Document(
                kind: kind, position: position, label: "service \(reference)",
                path: "/v1/services/\(reference.namespace)/\(reference.service)", body: body)
        case .policy:
            let (policy, body) = try normalized(TrafficPolicy.self)
            return Document(
                kind: kind, position: position, label: "policy \(policy.reference)",
                path: "/v1/policies/\(policy.namespace)/\(policy.service)", body: body)
        case .intention:
            let (intention, body) = try normalized(Intention.self)
            return Document(
                kind: kind, position: position,
                label:
                    "intention \(intention.source) → \(intention.destinationReference) (\(intention.action.rawValue))",
                path: "/v1/intentions", body: body)
        case .defaults:
            let (_, body) = try normalized(MeshDefaults.self)
            return Document(kind: kind, position: position, label: "mesh defaults", path: "/v1/defaults", body: body)
        case .serviceRoutes, .gatewayRoutes:
            var table = object
            guard let name = table.removeValue(forKey: "name") as? String else {
                throw DevMeshError("\(position).name: missing; the service or gateway the routes belong to")
            }
            let namespace = table.removeValue(forKey: "namespace") as? String ?? "default"
            let owner: ServiceReference
            do {
                owner = ServiceReference(
                    service: try ServiceName(validating: name), namespace: try NamespaceName(validating: namespace))
            } catch {
                throw DevMeshError("\(position).name: \(error.reason)")
            }
            let routes = try WeftJSON.decode(RouteTable.self, from: try JSONSerialization.data(withJSONObject: table))
            let collection = kind == .serviceRoutes ? "services" : "gateways"
            return Document(
                kind: kind, position: position, label: "\(kind.rawValue) \(owner)",
                path: "/v1/routes/\(collection)/\(owner.namespace)/\(owner.service)",
                body: String(decoding: try WeftJSON.encode(routes), as: UTF8.self))
        }
    }

    // MARK: Applying

    /// Applies (or with `dryRun`, compares) every document in order; returns
    /// one line per document, and for changes the fields that differ.
    public static func run(_ documents: [Document], context: AdminContext, dryRun: Bool) throws -> String {
        let client: AdminClient
        do {
            client = try AdminClient.registry(url: context.registryURL, token: context.adminToken)
        } catch {
            throw DevMeshError("--registry: \(error)")
        }
        var lines: [String] = []
        for document in documents {
            do {
                lines += try apply(document, client: client, dryRun: dryRun)
            } catch let error as DevMeshError {
                throw DevMeshError(
                    (lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n")
                        + "\(document.position) (\(document.label)): \(error)")
            } catch {
                throw DevMeshError("cannot reach the registry at \(context.registryURL): \(error)")
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func apply(_ document: Document, client: AdminClient, dryRun: Bool) throws -> [String] {
        let wanted = try JSONSerialization.jsonObject(with: Data(document.body.utf8))
        if document.kind == .intention {
            // Intentions have no name: one equal to this one means it is applied.
            let existing = try GetCommand.items(client, "/v1/intentions").map { item in
                item.filter { $0.key != "id" && $0.key != "modify_version" }
            }
            if existing.contains(where: { Self.differences(from: $0, to: wanted).isEmpty }) {
                return ["\(document.label): unchanged"]
            }
            if dryRun { return ["\(document.label): would be created"] }
            let reply = try client.call(.POST, document.path, document.body)
            guard reply.status == 201 else { throw refusal(reply, "POST", document) }
            return ["\(document.label): created (id \(AdminClient.member("id", in: reply.body) ?? "?"))"]
        }
        let current = try client.call(.GET, document.path)
        switch current.status {
        case 404:
            if dryRun { return ["\(document.label): would be created"] }
            // A service is created by POST to the collection; the rest by PUT.
            let reply =
                document.kind == .service
                ? try client.call(.POST, "/v1/services", document.body)
                : try client.call(.PUT, document.path, document.body)
            guard [200, 201].contains(reply.status) else {
                throw refusal(reply, document.kind == .service ? "POST" : "PUT", document)
            }
            return ["\(document.label): created"]
        case 200:
            var held = try JSONSerialization.jsonObject(with: Data(current.body.utf8))
            if var object = held as? [String: Any], document.kind == .serviceRoutes || document.kind == .gatewayRoutes {
                object = object.filter { $0.key == "routes" }
                held = object
            }
            let changes = Self.differences(from: held, to: wanted)
            if changes.isEmpty { return ["\(document.label): unchanged"] }
            let detail = changes.map { "  \($0)" }
            if dryRun { return ["\(document.label): would change"] + detail }
            let reply = try client.call(.PUT, document.path, document.body)
            guard reply.status == 200 else { throw refusal(reply, "PUT", document) }
            return ["\(document.label): changed"] + detail
        default:
            throw refusal(current, "GET", document)
        }
    }

    /// The registry's refusal, with its field paths.
    static func refusal(_ reply: AdminClient.Reply, _ method: String, _ document: Document) -> DevMeshError {
        let object = (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8))) as? [String: Any] ?? [:]
        var text = "the registry answered \(reply.status) to \(method) \(document.path)"
        if let detail = object["detail"] as? String { text += ": \(detail)" }
        for error in object["errors"] as? [[String: Any]] ?? [] {
            text += "\n  \(document.position).\(error["field"] ?? "?"): \(error["reason"] ?? "?")"
        }
        if reply.status == 401 { text += " (is the admin token the registry's?)" }
        return DevMeshError(text)
    }

    /// Where two JSON values differ, as `path: old → new` lines (fields the
    /// registry added and the file does not set count as differences too).
    static func differences(from old: Any, to new: Any, path: String = "") -> [String] {
        func render(_ value: Any?) -> String {
            guard let value, !(value is NSNull) else { return "(none)" }
            if let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
            {
                return String(decoding: data, as: UTF8.self)
            }
            return "\(value)"
        }
        switch (old, new) {
        case (let left as [String: Any], let right as [String: Any]):
            var lines: [String] = []
            for key in Set(left.keys).union(right.keys).sorted() {
                let child = path.isEmpty ? key : "\(path).\(key)"
                switch (left[key], right[key]) {
                case (let a?, let b?): lines += differences(from: a, to: b, path: child)
                case (let a?, nil) where !(a is NSNull): lines.append("\(child): \(render(a)) → (none)")
                case (nil, let b?) where !(b is NSNull): lines.append("\(child): (none) → \(render(b))")
                default: break
                }
            }
            return lines
        case (let left as [Any], let right as [Any]) where left.count == right.count:
            return zip(left, right).enumerated().flatMap { index, pair in
                differences(from: pair.0, to: pair.1, path: "\(path)[\(index)]")
            }
        default:
            return render(old) == render(new)
                ? [] : ["\(path.isEmpty ? "(document)" : path): \(render(old)) → \(render(new))"]
        }
    }

    // MARK: Deleting

    /// `weftctl delete KIND NAME`: `namespace/name` (default namespace when
    /// bare); an intention by its id.
    public static func delete(_ kind: Kind, _ name: String, context: AdminContext) throws -> String {
        let client = try AdminClient.registry(url: context.registryURL, token: context.adminToken)
        let parts = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw DevMeshError("\(name): expected NAME or NAMESPACE/NAME")
        }
        let (namespace, object) = parts.count == 2 ? (parts[0], parts[1]) : ("default", parts[0])
        let path: String
        switch kind {
        case .service: path = "/v1/services/\(namespace)/\(object)"
        case .policy: path = "/v1/policies/\(namespace)/\(object)"
        case .serviceRoutes: path = "/v1/routes/services/\(namespace)/\(object)"
        case .gatewayRoutes: path = "/v1/routes/gateways/\(namespace)/\(object)"
        case .intention:
            guard parts.count == 1, Int(object) != nil else {
                throw DevMeshError("an intention is deleted by its id (weftctl get intentions)")
            }
            path = "/v1/intentions/\(object)"
        case .defaults: path = "/v1/defaults"
        }
        let reply = try client.call(.DELETE, path)
        switch reply.status {
        case 204: return "\(kind.rawValue) \(name): deleted"
        case 404: throw DevMeshError("\(kind.rawValue) \(name): not in the registry")
        default:
            let detail = AdminClient.member("detail", in: reply.body) ?? String(reply.body.prefix(300))
            throw DevMeshError("the registry answered \(reply.status) to DELETE \(path): \(detail)")
        }
    }
}
