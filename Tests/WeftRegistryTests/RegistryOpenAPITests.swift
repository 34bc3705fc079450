import Foundation
import Testing
import WeftTestSupport

/// The OpenAPI document: the served one is the one in the repository, and
/// schemathesis, generating thousands of calls from it, finds no server error.
@Suite struct RegistryOpenAPITests {
    static let repositoryDocument = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/api/registry.openapi.json")

    /// schemathesis's `st`: WEFT_SCHEMATHESIS, else where scripts/install-deps puts it, else PATH.
    static var schemathesis: String? {
        let environment = ProcessInfo.processInfo.environment
        var candidates = [environment["WEFT_SCHEMATHESIS"], "/opt/weft-tools/venv/bin/st"].compactMap { $0 }
        candidates += (environment["PATH"] ?? "").split(separator: ":").map { "\($0)/st" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test func servesTheDocumentKeptInTheRepository() async throws {
        try await RegistryHarness.with { registry in
            let served = try await registry.call("GET", "/v1/openapi.json", token: nil)
            #expect(served.status == 200)
            #expect(served.header("Content-Type") == "application/json")
            let file = try String(contentsOf: Self.repositoryDocument, encoding: .utf8)
            #expect(
                served.text.trimmingCharacters(in: .whitespacesAndNewlines)
                    == file.trimmingCharacters(in: .whitespacesAndNewlines),
                "the served document is not docs/api/registry.openapi.json (the EmbedOpenAPI plugin compiles it in)")
            let document = try #require(served.json["paths"] as? [String: Any])
            #expect(document["/v1/discovery"] != nil)
        }
    }

    @Test(.timeLimit(.minutes(10))) func schemathesisFindsNoServerError() async throws {
        guard let st = Self.schemathesis else {
            Issue.record("schemathesis is not installed; run scripts/install-deps (or set WEFT_SCHEMATHESIS)")
            return
        }
        try await RegistryHarness.with { registry in
            // Something to find, so generated calls reach more than 404s.
            _ = try await registry.call("POST", "/v1/services", body: #"{"name":"catalog","namespace":"default"}"#)
            _ = try await registry.call(
                "PUT", "/v1/instances/default/catalog/c-1",
                body: #"{"id":"c-1","service":"catalog","address":"10.0.0.5","port":9000}"#)
            let base = "http://127.0.0.1:\(registry.port)"
            // The document as served, from a file: loading it over HTTP inside
            // schemathesis has a fixed 10 s timeout, too short on a loaded CI machine.
            let document = NSTemporaryDirectory() + "/weft-registry-openapi-\(UUID().uuidString).json"
            try await registry.call("GET", "/v1/openapi.json", token: nil).body.write(
                to: URL(fileURLWithPath: document))
            defer { unlink(document) }
            // In a directory of its own: schemathesis keeps a cache where it runs.
            let workDirectory = NSTemporaryDirectory() + "/weft-schemathesis-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: workDirectory) }
            let run = try ChildProcess(
                "/usr/bin/env",
                [
                    "-C", workDirectory, st, "run", document, "--url", base, "--request-timeout", "30",
                    "--header", "Authorization: Bearer \(RegistryHarness.adminToken)",
                    "--checks", "not_a_server_error", "--max-examples", "25", "--workers", "2", "--seed", "1",
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
