import Foundation
import Testing
import WeftTestSupport

/// `weftctl apply -f` and `weftctl delete`, the built binary against a real
/// registry on a throwaway PostgreSQL.
@Suite(.serialized) struct ApplyTests {
    static let weftctl = ChildProcess.builtProduct("weftctl")

    typealias Run = ([String]) throws -> (status: Int32, output: String)

    /// A registry on a throwaway PostgreSQL, and weftctl pointed at it by flags.
    static func withRegistry(_ body: @escaping @Sendable (MeshFixture, MeshFixture.Registry, Run) throws -> Void)
        async throws
    {
        try await TemporaryPostgres.with { postgres in
            try await blocking {
                let mesh = try MeshFixture()
                defer { mesh.stop() }
                let registry = try mesh.startRegistry(postgres)
                let common = [
                    "--registry", "http://127.0.0.1:\(registry.port)", "--admin-token-file", registry.adminTokenFile,
                ]
                try body(mesh, registry) { arguments in
                    let run = try ChildProcess.run(Self.weftctl, arguments + common)
                    return (run.status, run.output)
                }
            }
        }
    }

    @Test func appliesADocumentSetIdempotentlyShowsDiffsAndRefusesBadInput() async throws {
        try await Self.withRegistry { mesh, registry, weftctl in
            let manifest = try mesh.scratch.write(
                "mesh.json",
                """
                {"kind": "service", "name": "payments", "protocol": "http"}
                {"kind": "policy", "service": "payments", "load_balancer": {"type": "ring_hash", "hash_header": "x-terminal-id"},
                 "rate_limit": {"requests_per_second": 50}}
                [{"kind": "service-routes", "name": "payments", "routes": [
                   {"name": "canary", "destinations": [
                     {"service": "payments", "subset": {"version": "v1"}, "weight": 90},
                     {"service": "payments", "subset": {"version": "v2"}, "weight": 10}]}]},
                 {"kind": "intention", "source": "*", "destination": "payments", "action": "allow",
                  "methods": ["GET"], "headers": [{"name": "x-role", "exact": "cashier"}]}]
                """)
            // First time: everything is created.
            let first = try weftctl(["apply", "-f", manifest])
            #expect(first.status == 0, "\(first.output)")
            #expect(first.output.contains("service default/payments: created"), "\(first.output)")
            #expect(first.output.contains("policy default/payments: created"))
            #expect(first.output.contains("service-routes default/payments: created"))
            #expect(first.output.contains("intention * → default/payments (allow): created"), "\(first.output)")
            #expect(try registry.call("GET", "/v1/policies/default/payments").1.contains("ring_hash"))
            // Again: nothing changes, the intention is not duplicated.
            let again = try weftctl(["apply", "-f", manifest])
            #expect(again.status == 0)
            #expect(again.output.split(separator: "\n").allSatisfy { $0.hasSuffix(": unchanged") }, "\(again.output)")
            #expect(try registry.call("GET", "/v1/intentions").1.components(separatedBy: "\"source\"").count == 2)
            // A change: the dry run names the field and writes nothing; the
            // apply writes it.
            let changed = try mesh.scratch.write(
                "change.json",
                #"{"kind": "policy", "service": "payments", "load_balancer": {"type": "peak_ewma"}, "rate_limit": {"requests_per_second": 50}}"#
            )
            let dry = try weftctl(["apply", "-f", changed, "--dry-run"])
            #expect(dry.status == 0)
            #expect(dry.output.contains("policy default/payments: would change"), "\(dry.output)")
            #expect(dry.output.contains("load_balancer.type: \"ring_hash\" → \"peak_ewma\""), "\(dry.output)")
            #expect(try registry.call("GET", "/v1/policies/default/payments").1.contains("ring_hash"))
            let applied = try weftctl(["apply", "-f", changed])
            #expect(applied.output.contains("policy default/payments: changed"), "\(applied.output)")
            #expect(try registry.call("GET", "/v1/policies/default/payments").1.contains("peak_ewma"))
            // Bad input is refused with the document and field, before any call.
            for (text, expected) in [
                (
                    #"{"kind": "policy", "service": "payments", "load_balancer": {"type": "maglev"}}"#,
                    "documents[0].load_balancer.type: unknown balancer"
                ),
                (#"{"kind": "gizmo"}"#, "documents[0].kind: unknown kind \"gizmo\""),
                (#"{"service": "payments"}"#, "documents[0].kind: missing"),
                (#"{"kind": "service-routes", "routes": []}"#, "documents[0].name: missing"),
                (#"{"kind": "service", "name": "a"} nonsense"#, "unexpected"),
                (
                    #"{"kind": "policy", "service": "payments", "rate_limit": {"requests_per_second": 1, "key_header": "x"}}"#,
                    "documents[0].rate_limit.key_header: applies to route rules"
                ),
            ] {
                let file = try mesh.scratch.write("bad.json", text)
                let refused = try weftctl(["apply", "-f", file])
                #expect(refused.status != 0, "\(text)")
                #expect(refused.output.contains(expected), "\(text): \(refused.output)")
            }
            // Describe: the service with its policy, routes and intentions.
            let described = try weftctl(["describe", "service", "payments"])
            #expect(described.status == 0, "\(described.output)")
            for expected in [
                "service    default/payments", "protocol   http", "load_balancer: {\"type\":\"peak_ewma\"}",
                "canary → payments[version=v1] 90%, payments[version=v2] 10%", "intentions 1",
                "allow  from *  methods GET",
            ] {
                #expect(described.output.contains(expected), "\(expected): \(described.output)")
            }
            let missing = try weftctl(["describe", "service", "nowhere"])
            #expect(missing.status == 1 && missing.output.contains("not in the registry"), "\(missing.output)")
            let wrongKind = try weftctl(["describe", "teapot", "x"])
            #expect(wrongKind.status == 64, "\(wrongKind.output)")
            // Delete: the routes go; deleting them again says so.
            let deleted = try weftctl(["delete", "service-routes", "default/payments"])
            #expect(deleted.status == 0 && deleted.output.contains("deleted"), "\(deleted.output)")
            let gone = try weftctl(["delete", "service-routes", "payments"])
            #expect(gone.status != 0 && gone.output.contains("not in the registry"), "\(gone.output)")
            let badName = try weftctl(["delete", "intention", "default/x"])
            #expect(badName.status != 0 && badName.output.contains("by its id"), "\(badName.output)")
            // Status: the registry ready, the one service applied, as text and JSON.
            let status = try weftctl(["status"])
            #expect(status.status == 0, "\(status.output)")
            #expect(status.output.contains(": ready, state version"), "\(status.output)")
            #expect(status.output.contains("services   1"), "\(status.output)")
            let json = try Command.object(try weftctl(["status", "-o", "json"]).output)
            #expect(json["services"] as? Int == 1 && json["ready"] as? Bool == true, "\(json)")
            // The same as YAML; an output format weftctl does not have is a usage error.
            let yamlStatus = try weftctl(["status", "-o", "yaml"])
            #expect(yamlStatus.status == 0 && yamlStatus.output.contains("services: 1"), "\(yamlStatus.output)")
            #expect(try weftctl(["status", "-o", "xml"]).status == 64)
            // YAML documents, one per ---, as kubectl users write them.
            let yamlFile = try mesh.scratch.write(
                "catalog.yaml",
                """
                kind: service
                name: catalog
                protocol: http2
                ---
                kind: intention
                source: spiffe://weft.local/ns/default/sa/payments
                destination: catalog
                action: allow
                methods: [GET, POST]
                ---
                """)
            let appliedYAML = try weftctl(["apply", "-f", yamlFile])
            #expect(
                appliedYAML.status == 0 && appliedYAML.output.contains("service default/catalog: created"),
                "\(appliedYAML.output)")
            #expect(appliedYAML.output.contains("(allow): created"), "\(appliedYAML.output)")
            let services = try weftctl(["get", "services", "-o", "yaml"])
            #expect(services.status == 0 && services.output.contains("name: catalog"), "\(services.output)")
            let broken = try mesh.scratch.write("broken.yaml", "kind: service\nname: [unclosed\n")
            let refusedYAML = try weftctl(["apply", "-f", broken])
            #expect(refusedYAML.status != 0 && refusedYAML.output.contains("not YAML"), "\(refusedYAML.output)")
            // Hostile files are refused before they cost memory: aliases nested ten
            // deep (10^10 values from a few hundred bytes), a file over the size
            // cap, bytes that are not UTF-8, nesting past the parsers' limits.
            var laughs = [#"a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]"#]
            for level in 1...9 {
                laughs.append(
                    "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ",")
                        + "]")
            }
            let hostile: [(String, Data, String)] = [
                (
                    "laughs.yaml", Data((laughs + ["kind: service"]).joined(separator: "\n").utf8),
                    "expands to more than 1000000 values"
                ),
                (
                    "big.json",
                    Data(("{\"kind\":\"service\",\"name\":\"" + String(repeating: "a", count: 17 << 20) + "\"}").utf8),
                    "larger than 16 MiB"
                ),
                ("latin1.yaml", Data("kind: service\nname: caf".utf8) + Data([0xE9, 0x0A]), "not UTF-8 text"),
                ("deep.yaml", Data(("kind: service\nx: " + String(repeating: "[", count: 100_000)).utf8), "not YAML"),
                (
                    "deep.json", Data(("{\"kind\":\"service\",\"x\":" + String(repeating: "[", count: 100_000)).utf8),
                    "not JSON"
                ),
            ]
            for (name, contents, expected) in hostile {
                let file = mesh.scratch.file(name)
                try contents.write(to: URL(fileURLWithPath: file))
                let refused = try weftctl(["apply", "-f", file])
                #expect(
                    refused.status == 1 && refused.output.contains(expected), "\(name): \(refused.output.prefix(300))")
            }
            let wrongField = try mesh.scratch.write("wrong.yaml", "kind: service\nname: Catalog_1\n")
            let refusedField = try weftctl(["apply", "-f", wrongField])
            #expect(
                refusedField.status != 0 && refusedField.output.contains("documents[0].name"), "\(refusedField.output)")
            // Contexts: saved once, then no flags needed; an unknown one is refused.
            let config = mesh.scratch.file("weft-config.yaml")
            func configured(_ arguments: [String]) throws -> (status: Int32, output: String) {
                try ChildProcess.run("/usr/bin/env", ["WEFT_CONFIG=\(config)", Self.weftctl] + arguments)
            }
            let saved = try configured([
                "config", "set-context", "lab", "--registry", "http://127.0.0.1:\(registry.port)",
                "--admin-token-file", registry.adminTokenFile,
            ])
            #expect(saved.status == 0 && saved.output.contains("context lab: saved"), "\(saved.output)")
            let listedContexts = try configured(["config", "get-contexts"])
            #expect(
                listedContexts.output.contains("*") && listedContexts.output.contains("lab"), "\(listedContexts.output)"
            )
            let contextual = try configured(["status", "--state-dir", mesh.scratch.file("no-dev-mesh")])
            #expect(contextual.status == 0 && contextual.output.contains(": ready"), "\(contextual.output)")
            let unknownContext = try configured(["config", "use-context", "prod"])
            #expect(
                unknownContext.status == 1 && unknownContext.output.contains("no context prod"),
                "\(unknownContext.output)")
            let badFile = try mesh.scratch.write("bad-config.yaml", "contexts:\n  lab:\n    registri: x\n")
            let refusedFile = try ChildProcess.run(
                "/usr/bin/env",
                ["WEFT_CONFIG=\(badFile)", Self.weftctl, "status", "--state-dir", mesh.scratch.file("none")])
            #expect(
                refusedFile.status == 1 && refusedFile.output.contains("registri: unknown field"),
                "\(refusedFile.output)")
            // A registry that does not answer: exit 1, saying so.
            let down = try ChildProcess.run(
                Self.weftctl,
                ["status", "--registry", "http://127.0.0.1:1", "--admin-token-file", registry.adminTokenFile])
            #expect(down.status == 1 && down.output.contains("does not answer"), "\(down.output)")
        }
    }

    @Test func describesEachKindWithWhatItMeansForTraffic() async throws {
        try await Self.withRegistry { mesh, registry, weftctl in
            #expect(try registry.call("POST", "/v1/services", #"{"name":"payments"}"#).0 == 201)
            for (id, version, health) in [("p-1", "v1", "passing"), ("p-2", "v2", "critical")] {
                let instance = """
                    {"id": "\(id)", "service": "payments", "address": "127.0.0.1", "port": 9000,
                     "zone": "z1", "labels": {"version": "\(version)"}, "health": "\(health)", "ttl": "600s"}
                    """
                #expect(try registry.call("PUT", "/v1/instances/default/payments/\(id)", instance).0 == 200)
            }
            let manifest = try mesh.scratch.write(
                "describe.json",
                """
                {"kind": "policy", "service": "payments", "load_balancer": {"type": "least_request"}}
                {"kind": "service-routes", "name": "payments", "routes": [
                   {"name": "split", "match": {"path": {"prefix": "/v1"}}, "timeout": "2s", "destinations": [
                     {"service": "payments", "subset": {"version": "v1"}, "weight": 50},
                     {"service": "payments", "subset": {"version": "v2"}, "weight": 50}]}]}
                {"kind": "gateway-routes", "name": "edge", "routes": [
                   {"name": "old", "match": {"path": {"prefix": "/old"}}, "redirect": {"path": "/new"}},
                   {"name": "all", "destinations": [{"service": "payments", "subset": {"version": "v3"}}]}]}
                {"kind": "intention", "source": "*", "destination": "payments", "action": "allow"}
                {"kind": "intention", "source": "spiffe://weft.local/ns/default/sa/kiosk", "destination": "payments", "action": "deny"}
                """)
            let applied = try weftctl(["apply", "-f", manifest])
            #expect(applied.status == 0, "\(applied.output)")

            // Routes: each destination with the instances its subset selects now.
            let routes = try weftctl(["describe", "service-routes", "payments"])
            #expect(routes.status == 0, "\(routes.output)")
            for expected in [
                "1. split", #"match  {"path":{"prefix":"/v1"}}"#, "timeout  \"2s\"",
                "→ default/payments [version=v1] 50%: 1 instance(s), 1 receiving traffic",
                "→ default/payments [version=v2] 50%: 1 instance(s), 0 receiving traffic (no endpoint",
            ] {
                #expect(routes.output.contains(expected), "\(expected): \(routes.output)")
            }
            let edge = try weftctl(["describe", "gateway-routes", "default/edge"])
            #expect(edge.output.contains(#"→ redirect {"path":"/new","status":302}"#), "\(edge.output)")
            #expect(
                edge.output.contains("2. all") && edge.output.contains("0 instance(s), 0 receiving traffic"),
                "\(edge.output)")

            // An instance: by its id alone, with the rules that pick it.
            let instance = try weftctl(["describe", "instance", "p-1"])
            #expect(instance.status == 0, "\(instance.output)")
            for expected in [
                "instance   default/payments/p-1", "zone       z1", "labels     version=v1",
                "health     passing, receives traffic", "service-routes default/payments rule split (50%)",
            ] {
                #expect(instance.output.contains(expected), "\(expected): \(instance.output)")
            }
            let sick = try weftctl(["describe", "instance", "payments/p-2"])
            #expect(sick.output.contains("critical, receives no traffic"), "\(sick.output)")

            // Intentions: the exact identity's deny is tried before the * allow.
            let listed = try weftctl(["get", "intentions", "-o", "json"])
            let intentions = try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]] ?? []
            let allowID = "\(try #require(intentions.first { $0["action"] as? String == "allow" }?["id"]))"
            let intention = try weftctl(["describe", "intention", allowID])
            #expect(intention.status == 0, "\(intention.output)")
            #expect(intention.output.contains("order       2 of 2 for default/payments"), "\(intention.output)")
            #expect(
                intention.output.contains("1. ")
                    && intention.output.contains("deny  from spiffe://weft.local/ns/default/sa/kiosk"))
            #expect(intention.output.contains("otherwise: deny (the mesh default)"), "\(intention.output)")
            let service = try weftctl(["describe", "service", "payments"])
            #expect(service.output.contains("intentions 2, tried in this order"), "\(service.output)")

            // Policy and defaults, as shown and as listed.
            let policy = try weftctl(["describe", "policy", "payments"])
            #expect(
                policy.output.contains(#"load_balancer: {"choice_count":2,"type":"least_request"}"#)
                    && policy.output.contains("rate_limit: none"), "\(policy.output)")
            let policies = try weftctl(["get", "policies"])
            #expect(policies.output.contains("least_request"), "\(policies.output)")
            let defaults = try weftctl(["describe", "defaults"])
            #expect(
                defaults.output.contains("default_action deny") && defaults.output.contains("weft.local"),
                "\(defaults.output)")
            #expect(try weftctl(["get", "defaults"]).output.contains("DEFAULT-ACTION"))

            // What is not there, or not a name, is refused with what to do.
            for (arguments, status, expected) in [
                (["describe", "instance", "p-9"], Int32(1), "not in the registry (weftctl get instances)"),
                (["describe", "intention", "default/x"], 1, "named by its id"),
                (["describe", "policy", "nowhere"], 1, "no such service"),
                (["describe", "gateway-routes", "a/b/c"], 1, "expected NAME or NAMESPACE/NAME"),
                (["describe", "defaults", "x"], 64, "takes no name"),
                (["describe", "policy"], 64, "give its name"),
            ] {
                let refused = try weftctl(arguments)
                #expect(
                    refused.status == status && refused.output.contains(expected), "\(arguments): \(refused.output)")
            }
        }
    }
}
