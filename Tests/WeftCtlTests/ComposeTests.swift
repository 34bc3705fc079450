import Foundation
import Testing
import WeftTestSupport

/// Docker cannot run here, so docker-compose.yml's mesh is checked against
/// what it runs: every variable a container is given is one its executable
/// reads, every secret a proxy reads from the bootstrap volume is one that
/// `weftctl dev bootstrap` — run for real against a registry and a CA — writes,
/// and the image builds and prepares what the file uses. `weftctl dev up`
/// (DevUpTests) runs the same topology from the built binaries.
@Suite(.serialized) struct ComposeTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func sections(_ compose: String) -> [String: String] {
        let services =
            compose.components(separatedBy: "\nservices:\n").last?.components(separatedBy: "\nvolumes:\n")
            .first ?? ""
        var result: [String: String] = [:]
        var current: String?
        for line in services.split(separator: "\n", omittingEmptySubsequences: false) {
            if let match = line.wholeMatch(of: /\ \ ([a-z0-9-]+):/) {
                current = String(match.1)
                result[current!] = ""
            } else if let current {
                result[current]! += line + "\n"
            }
        }
        return result
    }

    @Test func everyContainerOfTheMeshGetsSettingsAndSecretsItsExecutableUses() async throws {
        let compose = try String(contentsOf: Self.root.appendingPathComponent("docker-compose.yml"), encoding: .utf8)
        let dockerfile = try String(contentsOf: Self.root.appendingPathComponent("deploy/Dockerfile"), encoding: .utf8)
        let sections = Self.sections(compose)
        for name in [
            "bootstrap", "gateway", "catalog", "catalog-sidecar", "payments-v1-sidecar", "payments-v3-sidecar",
        ] {
            #expect(sections[name] != nil, "no \(name) service")
        }

        // Variables: each container's executable documents every one it is given.
        var helps: [String: String] = [:]
        for (name, section) in sections {
            guard let command = section.firstMatch(of: /command: \["([a-z-]+)"(?:, "([a-z-]+)", "([a-z-]+)")?/) else {
                continue
            }
            let binary = String(command.1)
            let arguments = [command.2, command.3].compactMap { $0.map(String.init) } + ["--help"]
            let key = ([binary] + arguments).joined(separator: " ")
            if helps[key] == nil {
                helps[key] = try ChildProcess.run(ChildProcess.builtProduct(binary), arguments).output
            }
            for variable in section.matches(of: /(WEFT_[A-Z_]+):/).map({ String($0.1) }) {
                #expect(helps[key]!.contains(variable), "\(name): \(key) does not know \(variable)")
            }
            #expect(dockerfile.contains("--product \(binary)"), "the image does not build \(binary)")
            if let shared = section.firstMatch(of: /network_mode: "service:([a-z0-9-]+)"/) {
                #expect(sections[String(shared.1)] != nil, "\(name) joins the namespace of a missing service")
            }
        }
        for directory in ["/var/lib/weft/bootstrap", "/var/lib/weft/proxy"] {
            #expect(dockerfile.contains(directory), "the image does not prepare \(directory)")
        }

        // The compose order with real processes: the CA, the authority stage, the
        // registry with its mesh listener on the token that stage wrote, the
        // registry stage, and a sidecar holding nothing but its written token.
        try await TemporaryPostgres.with { postgres in
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let ca = try mesh.startAuthority(postgres)
            let out = mesh.scratch.file("bootstrap")
            let token = try mesh.scratch.write("admin-token-file", MeshFixture.adminToken + "\n")
            let authority = try ChildProcess.run(
                ChildProcess.builtProduct("weftctl"),
                [
                    "dev", "bootstrap", "--stage", "authority", "--ca", ca.url, "--ca-bundle", ca.bundleFile,
                    "--admin-token-file", token, "--out", out,
                ])
            #expect(authority.status == 0, "\(authority.output)")
            let written = Set((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [])
            let read = Set(compose.matches(of: /\/var\/lib\/weft\/bootstrap\/([a-z0-9.-]+)/).map { String($0.1) })
            #expect(!read.isEmpty)
            #expect(read.isSubset(of: written), "read but not written: \(read.subtracting(written))")

            let registry = try mesh.startRegistry(
                postgres,
                extra: [
                    "--mesh-listen", "127.0.0.1:0", "--ca", ca.url, "--ca-bundle", out + "/trust-bundle.pem",
                    "--join-token-file", out + "/registry.join", "--data-dir", mesh.scratch.file("registry-data"),
                ])
            let meshPort = try #require(registry.meshPort, "\(registry.process.output)")
            let configure = try ChildProcess.run(
                ChildProcess.builtProduct("weftctl"),
                [
                    "dev", "bootstrap", "--stage", "registry", "--registry", "http://127.0.0.1:\(registry.port)",
                    "--admin-token-file", token,
                ])
            #expect(configure.status == 0, "\(configure.output)")
            #expect(try registry.call("GET", "/v1/routes/gateways/default/edge").1.contains("firmware-2"))
            #expect(try registry.call("GET", "/v1/intentions").1.contains("sa/edge"))

            let catalog = try mesh.startSidecar(
                "catalog", app: try mesh.startEcho(name: "catalog"), snapshot: mesh.scratch.file("catalog-kept.json"),
                identity: [
                    "--ca", ca.url, "--ca-bundle", out + "/trust-bundle.pem", "--join-token-file",
                    out + "/catalog.join",
                    "--data-dir", mesh.scratch.file("catalog-data"), "--registry", "https://127.0.0.1:\(meshPort)",
                    "--register", "--instance-id", "catalog", "--label", "version=v1",
                ])
            #expect(catalog.process.output.contains("joined the mesh with a join token"))
            Command.eventually { (try? registry.call("GET", "/v1/instances/default/catalog/catalog").0) == 200 }
            #expect(try registry.call("GET", "/v1/instances/default/catalog/catalog").0 == 200)

            // Each stage says what it lacks.
            let missing = try ChildProcess.run(
                ChildProcess.builtProduct("weftctl"),
                ["dev", "bootstrap", "--stage", "registry", "--admin-token-file", token])
            #expect(missing.status == 64 && missing.output.contains("--registry is required"), "\(missing.output)")
            let noToken = try ChildProcess.run(
                ChildProcess.builtProduct("weftctl"),
                ["dev", "bootstrap", "--stage", "registry", "--registry", "http://127.0.0.1:\(registry.port)"])
            #expect(
                noToken.status == 64 && noToken.output.contains("--admin-token-file is required"), "\(noToken.output)")
        }
    }
}
