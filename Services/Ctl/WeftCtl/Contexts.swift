import Foundation
import Yams

/// Named contexts in a config file, as kubectl keeps them: where each mesh's
/// registry and CA are and the files to call them with, and which one is
/// current. A flag or a `WEFT_*` variable wins over the context; the context
/// over a dev mesh's saved one.
///
/// The file is `$WEFT_CONFIG`, else `~/.weft/config.yaml`; YAML (or JSON):
///
/// ```yaml
/// current_context: prod
/// contexts:
///   prod:
///     registry: http://registry.prod:8500
///     admin_token_file: /etc/weft/registry.token
///     ca: https://ca.prod:8443
///     ca_bundle: /etc/weft/bundle.pem
///     ca_token_file: /etc/weft/ca.token
/// ```
public struct ContextFile: Sendable {
    // `Entry.keys` is a constant table of key paths (which are not Sendable).
    public struct Entry: Sendable, Equatable {
        public var registry: String?
        public var adminTokenFile: String?
        public var ca: String?
        public var caBundle: String?
        public var caTokenFile: String?
        public var trustDomain: String?

        nonisolated(unsafe) static let keys: [(String, WritableKeyPath<Entry, String?>)] = [
            ("registry", \.registry), ("admin_token_file", \.adminTokenFile), ("ca", \.ca),
            ("ca_bundle", \.caBundle), ("ca_token_file", \.caTokenFile), ("trust_domain", \.trustDomain),
        ]

        public init() {}
    }

    public var current: String?
    public var contexts: [String: Entry] = [:]

    public static func path(environment: [String: String]) -> String {
        environment["WEFT_CONFIG"] ?? (NSHomeDirectory() + "/.weft/config.yaml")
    }

    /// The file at `path`; empty when there is none. A file that cannot be
    /// read as contexts is an error naming what is wrong.
    public static func load(_ path: String) throws(DevMeshError) -> ContextFile {
        guard FileManager.default.fileExists(atPath: path) else { return ContextFile() }
        let object: Any?
        do {
            object = try Yams.load(yaml: try String(contentsOfFile: path, encoding: .utf8), .basic)
        } catch {
            throw DevMeshError("\(path): not a context file: \(error)")
        }
        guard let root = object as? [String: Any] else {
            if object == nil || object is NSNull { return ContextFile() }
            throw DevMeshError("\(path): expected a mapping with current_context and contexts")
        }
        var file = ContextFile()
        file.current = root["current_context"] as? String
        for (name, value) in root["contexts"] as? [String: Any] ?? [:] {
            guard let fields = value as? [String: Any] else {
                throw DevMeshError("\(path): contexts.\(name): expected a mapping")
            }
            var entry = Entry()
            for (key, path) in Entry.keys {
                if let text = fields[key] { entry[keyPath: path] = "\(text)" }
            }
            if let unknown = fields.keys.first(where: { key in !Entry.keys.contains { $0.0 == key } }) {
                throw DevMeshError(
                    "\(path): contexts.\(name).\(unknown): unknown field; expected \(Entry.keys.map(\.0).joined(separator: ", "))"
                )
            }
            file.contexts[name] = entry
        }
        return file
    }

    public func save(_ path: String) throws {
        var contexts: [String: Any] = [:]
        for (name, entry) in self.contexts {
            var fields: [String: String] = [:]
            for (key, path) in Entry.keys { if let value = entry[keyPath: path] { fields[key] = value } }
            contexts[name] = fields
        }
        var root: [String: Any] = ["contexts": contexts]
        if let current { root["current_context"] = current }
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try dump(object: root, indent: 2, sortKeys: true).write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The context commands use: `name`, else the current one; nil when
    /// there is none. An unknown name is an error.
    public func selected(_ name: String?) throws(DevMeshError) -> Entry? {
        guard let chosen = name ?? current else { return nil }
        guard let entry = contexts[chosen] else {
            throw DevMeshError(
                "no context \(chosen) (known: \(contexts.keys.sorted().joined(separator: ", ").isEmpty ? "none" : contexts.keys.sorted().joined(separator: ", ")))"
            )
        }
        return entry
    }

    /// The context from `$WEFT_CONFIG` (or the default file) for `name`
    /// (`--context`, `WEFT_CONTEXT`), else the current one.
    public static func entry(named name: String?, environment: [String: String]) throws(DevMeshError) -> Entry? {
        try load(path(environment: environment)).selected(name ?? environment["WEFT_CONTEXT"])
    }
}

/// `weftctl config get-contexts`'s table.
public enum ContextCommands {
    public static func table(_ file: ContextFile) -> String {
        let rows = file.contexts.keys.sorted().map { name -> [String] in
            let entry = file.contexts[name]!
            return [name == file.current ? "*" : "", name, entry.registry ?? "-", entry.ca ?? "-"]
        }
        return Table.render(header: ["CURRENT", "NAME", "REGISTRY", "CA"], rows: rows)
    }
}
