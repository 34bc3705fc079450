import Foundation
import Testing
import WeftTestSupport

/// Docker cannot run here, so docker-compose.yml and deploy/Dockerfile are
/// checked statically against the executable they start: the same variables,
/// the same product.
@Suite struct RegistryDeploymentTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func composeStartsTheRegistryWithSettingsItUnderstands() async throws {
        try await blocking {
            let compose = try String(
                contentsOf: Self.root.appendingPathComponent("docker-compose.yml"), encoding: .utf8)
            let dockerfile = try String(
                contentsOf: Self.root.appendingPathComponent("deploy/Dockerfile"), encoding: .utf8)
            let help = try ChildProcess.run(ChildProcess.builtProduct("weft-registry"), ["--help"]).output

            let section =
                try #require(compose.components(separatedBy: "\n  registry:\n").dropFirst().first)
                .components(separatedBy: "\n\n").first ?? ""
            #expect(section.contains(#"command: ["weft-registry"]"#))
            #expect(dockerfile.contains("--product weft-registry"))
            #expect(dockerfile.contains("/out/"))
            let variables = section.matches(of: /(WEFT_[A-Z_]+):/).map { String($0.1) }
            #expect(!variables.isEmpty)
            for variable in variables {
                #expect(help.contains(variable), "weft-registry --help does not know \(variable)")
            }
            // The port the container listens on is the one published and health-checked.
            let listen = try #require(section.firstMatch(of: /WEFT_LISTEN: 0\.0\.0\.0:(\d+)/)).1
            #expect(section.contains("127.0.0.1:\(listen):\(listen)"))
            #expect(section.contains("http://127.0.0.1:\(listen)/readyz"))
            #expect(section.contains("condition: service_healthy"))
        }
    }
}
