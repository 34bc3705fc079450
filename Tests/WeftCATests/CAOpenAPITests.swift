import Foundation
import Testing
import WeftTestSupport

/// The OpenAPI document: the served one is the one in the repository, and
/// schemathesis, generating calls from it over TLS, finds no server error.
@Suite struct CAOpenAPITests {
    static let repositoryDocument = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/api/ca.openapi.json")

    /// schemathesis's `st`: WEFT_SCHEMATHESIS, else where scripts/install-deps puts it, else PATH.
    static var schemathesis: String? {
        let environment = ProcessInfo.processInfo.environment
        var candidates = [environment["WEFT_SCHEMATHESIS"], "/opt/weft-tools/venv/bin/st"].compactMap { $0 }
        candidates += (environment["PATH"] ?? "").split(separator: ":").map { "\($0)/st" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test func servesTheDocumentKeptInTheRepository() async throws {
        try await CAHarness.with { ca in
            let served = try await ca.call("GET", "/v1/openapi.json", token: nil)
            #expect(served.status == 200)
            let file = try String(contentsOf: Self.repositoryDocument, encoding: .utf8)
            #expect(
                served.text.trimmingCharacters(in: .whitespacesAndNewlines)
                    == file.trimmingCharacters(in: .whitespacesAndNewlines),
                "the served document is not docs/api/ca.openapi.json (the EmbedOpenAPI plugin compiles it in)")
        }
    }

    @Test(.timeLimit(.minutes(10))) func schemathesisFindsNoServerError() async throws {
        guard let st = Self.schemathesis else {
            Issue.record("schemathesis is not installed; run scripts/install-deps (or set WEFT_SCHEMATHESIS)")
            return
        }
        try await CAHarness.with(configuration: .init { $0.signRatePerClient = 10_000 }) { ca in
            // Something to find, so generated calls reach more than 404s.
            // (No client certificate for schemathesis: its stateful phase may
            // revoke it and retire its root, as an operator may.)
            _ = try await ca.enroll("web")
            _ = try await ca.joinToken(for: CAHarness.identity("api"))
            let document = ca.scratch.file("openapi.json")
            try await ca.call("GET", "/v1/openapi.json", token: nil).body.write(to: URL(fileURLWithPath: document))
            // One worker: schemathesis's coverage phase, run from two threads,
            // once tripped CPython 3.11's "AST constructor recursion depth
            // mismatch" (an error inside the tool, not a finding).
            // In a directory of its own: schemathesis keeps a cache where it runs.
            let workDirectory = NSTemporaryDirectory() + "/weft-schemathesis-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: workDirectory) }
            let run = try ChildProcess(
                "/usr/bin/env",
                [
                    "-C", workDirectory, st, "run", document, "--url", "https://localhost:\(ca.port)", "--tls-verify",
                    ca.bundleFile,
                    "--request-timeout", "30", "--header", "Authorization: Bearer \(CAHarness.adminToken)",
                    "--checks", "not_a_server_error", "--max-examples", "25", "--seed", "1",
                    "--no-color",
                ],
                environment: [
                    "SCHEMATHESIS_HOOKS": "",
                    "HYPOTHESIS_STORAGE_DIRECTORY": NSTemporaryDirectory() + "/weft-hypothesis",
                ])
            let status = await run.exited()
            #expect(ChildProcess.succeeded(status), "schemathesis reported failures:\n\(run.output.suffix(6000))")
            #expect(run.output.contains("passed"), "\(run.output.suffix(2000))")
        }
    }
}
