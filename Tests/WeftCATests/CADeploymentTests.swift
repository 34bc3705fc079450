import Foundation
import Testing
import WeftTestSupport

/// Docker cannot run here, so the CA's part of docker-compose.yml, the
/// Dockerfile and the Kubernetes manifest are checked statically against the
/// executable they start.
@Suite struct CADeploymentTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func composeAndKubernetesStartTheCAWithSettingsItUnderstands() async throws {
        try await blocking {
            let compose = try String(
                contentsOf: Self.root.appendingPathComponent("docker-compose.yml"), encoding: .utf8)
            let dockerfile = try String(
                contentsOf: Self.root.appendingPathComponent("deploy/Dockerfile"), encoding: .utf8)
            let kubernetes = try String(
                contentsOf: Self.root.appendingPathComponent("deploy/kubernetes/ca.yaml"), encoding: .utf8)
            let help = try ChildProcess.run(ChildProcess.builtProduct("weft-ca"), ["--help"]).output

            let section =
                try #require(compose.components(separatedBy: "\n  ca:\n").dropFirst().first)
                .components(separatedBy: "\n\n").first ?? ""
            #expect(section.contains(#"command: ["weft-ca"]"#))
            #expect(dockerfile.contains("--product weft-ca"))
            #expect(dockerfile.contains(".build/release/weft-ca "))
            for text in [section, kubernetes] {
                let variables = text.matches(of: /(WEFT_[A-Z_]+)/).map { String($0.1) }
                #expect(variables.count >= 4)
                for variable in Set(variables) {
                    #expect(help.contains(variable), "weft-ca --help does not know \(variable)")
                }
            }
            // The data directory is a volume, owned by the image's user with 0700.
            let directory = try #require(section.firstMatch(of: /WEFT_DATA_DIR: (\S+)/)).1
            #expect(section.contains("ca-data:\(directory)"))
            #expect(dockerfile.contains("install -d -o weft -g weft -m 0700 \(directory)"))
            #expect(compose.contains("\n  ca-data:"))
            // The listener is TLS: published, health-checked over HTTPS with the CA's own anchors.
            let listen = try #require(section.firstMatch(of: /WEFT_LISTEN: 0\.0\.0\.0:(\d+)/)).1
            #expect(section.contains("127.0.0.1:\(listen):\(listen)"))
            #expect(section.contains("\(directory)/trust-bundle.pem"))
            #expect(section.contains("https://localhost:\(listen)/readyz"))
            let names = try #require(section.firstMatch(of: /WEFT_SERVER_NAMES: (\S+)/)).1
            #expect(names.split(separator: ",").contains("localhost"))
            #expect(kubernetes.contains("scheme: HTTPS"))
        }
    }
}
