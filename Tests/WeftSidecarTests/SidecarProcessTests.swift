import Foundation
import Testing
import WeftTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The weft-sidecar executable: flags, refusals at start, the admin port, the
/// drain on SIGTERM; and its place in the image and the compose file.
@Suite(.serialized) struct SidecarProcessTests {
    static let binary = MeshFixture.sidecarBinary
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func documentsEveryFlagAndRefusesBadOnesWithExit64() async throws {
        try await blocking {
            let help = try ChildProcess.run(Self.binary, ["--help"])
            #expect(help.status == 0)
            for flag in [
                "--service", "--namespace", "--inbound", "--app", "--app-protocol", "--upstream", "--outbound-proxy",
                "--admin", "--certificate", "--key", "--trust-bundle", "--snapshot-file", "--threads",
                "--drain-timeout",
                "--log-level", "--registry", "--registry-token-file", "WEFT_REGISTRY", "--access-log",
                "--otlp-endpoint",
                "WEFT_OTLP_ENDPOINT", "--trace-sample",
            ] {
                #expect(help.output.contains(flag), "--help does not mention \(flag)")
            }
            let base = [
                "--service", "web", "--app", "127.0.0.1:8080", "--certificate", "/c", "--key", "/k", "--trust-bundle",
                "/b",
                "--snapshot-file", "/s",
            ]
            let cases: [([String], String)] = [
                (Array(base.dropFirst(2)), "--service is required"),
                (base + ["--app-protocol", "smtp"], "--app-protocol: expected http, http2, grpc or tcp"),
                (base + ["--upstream", "cart"], "expected name=host:port"),
                (base + ["--upstream", "Bad_Name=127.0.0.1:1"], "is not a service name"),
                (base + ["--inbound", "nope"], "--inbound"),
                (base + ["--threads", "0"], "--threads must be"),
                (base + ["--registry", "ftp://registry:1"], "--registry: expected http://host:port"),
                (base + ["--registry", "http://::1:8500"], "IPv6 in brackets"),
                (base + ["--registry", "http://[::1:8500"], "--registry: expected http://host:port"),
                (base + ["--registry", "http://registry:8080"], "--registry needs --registry-token-file"),
                (["--service", "UPPER"] + base.dropFirst(2), "--service"),
                (base + ["--register"], "--register needs --registry"),
                (base + ["--label", "version=v2"], "--label needs --register"),
                (
                    base + [
                        "--registry", "http://r:1", "--registry-token-file", "t", "--register", "--health-check",
                        "smtp",
                    ],
                    "--health-check: expected tcp, http:/path or none"
                ),
                (
                    base + [
                        "--registry", "http://r:1", "--registry-token-file", "t", "--register", "--label", "Bad Key=1",
                    ],
                    "--label"
                ),
                (
                    base + ["--registry", "http://r:1", "--registry-token-file", "t", "--register", "--ttl", "1"],
                    "--ttl"
                ),
                (
                    base + [
                        "--registry", "http://r:1", "--registry-token-file", "t", "--register", "--advertise",
                        "h:99999",
                    ],
                    "--advertise: expected host or host:port"
                ),
                (
                    base + ["--registry", "https://r:1", "--registry-token-file", "t"],
                    "--registry-token-file is for an http:// registry"
                ),
                (base + ["--trust-domain", "Not A Domain"], "--trust-domain"),
                (
                    base + ["--otlp-endpoint", "https://collector:4318"],
                    "--otlp-endpoint: expected http://host:port[/path]"
                ),
                (base + ["--otlp-endpoint", "http://collector"], "--otlp-endpoint"),
                (
                    base + ["--otlp-endpoint", "http://collector:4318", "--trace-sample", "2"],
                    "--trace-sample: expected a ratio"
                ),
                (base + ["--trace-sample", "0.5"], "--trace-sample needs --otlp-endpoint"),
            ]
            for (arguments, message) in cases {
                let result = try ChildProcess.run(Self.binary, arguments)
                #expect(result.status == 64, "\(arguments): exit \(result.status)")
                #expect(result.output.contains(message), "\(arguments): \(result.output)")
            }
        }
    }

    @Test func refusesToStartWithAnotherServicesCertificateOrABadSnapshot() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let snapshot = try mesh.snapshot("s.json")
            let other = try mesh.credentials(for: MeshFixture.identity("someone-else"))
            let arguments = [
                "--service", "web", "--app", "127.0.0.1:1", "--inbound", "127.0.0.1:0", "--outbound-proxy", "off",
                "--admin", "off", "--trust-bundle", mesh.bundle,
            ]
            let wrong = try ChildProcess.run(
                Self.binary,
                arguments + ["--certificate", other.certificate, "--key", other.key, "--snapshot-file", snapshot])
            #expect(wrong.status == 78)
            #expect(
                wrong.output.contains("it is for spiffe://weft.local/ns/default/sa/someone-else"), "\(wrong.output)")
            let mine = try mesh.credentials(for: MeshFixture.identity("web"))
            let bad = try mesh.scratch.write("bad.json", #"{"version": 1, "generated_at": "x", "upstreams": []}"#)
            let invalid = try ChildProcess.run(
                Self.binary, arguments + ["--certificate", mine.certificate, "--key", mine.key, "--snapshot-file", bad])
            #expect(invalid.status == 78)
            #expect(invalid.output.contains("--snapshot-file"), "\(invalid.output)")
            let mismatched = try ChildProcess.run(
                Self.binary,
                arguments + ["--certificate", mine.certificate, "--key", other.key, "--snapshot-file", snapshot])
            #expect(mismatched.status == 78)
            #expect(mismatched.output.contains("--key: it is not the key"), "\(mismatched.output)")
        }
    }

    @Test func theAdminPortCountsRequestsAndSigtermDrains() async throws {
        try await blocking {
            try SidecarMeshTests.withMesh { mesh, frontend, backend in
                for _ in 0..<3 {
                    _ = try Command.curl(["http://127.0.0.1:\(frontend.upstreams["backend"]!)/"])
                }
                let live = try Command.curl([
                    "-w", "%{http_code}", "-o", "/dev/null", "http://127.0.0.1:\(frontend.admin)/live",
                ])
                #expect(live.output == "200")
                let ready = try Command.curl(["http://127.0.0.1:\(frontend.admin)/ready"])
                #expect(ready.output.hasPrefix("ready: snapshot version 1 (built "), "\(ready.output)")
                let certificate = try Command.object(
                    try Command.curl(["http://127.0.0.1:\(frontend.admin)/certificate"]).output)
                #expect(certificate["source"] as? String == "files" && certificate["renewals"] as? Int == 0)
                #expect(certificate["identity"] as? String == MeshFixture.identity("frontend"), "\(certificate)")
                let metrics = try Command.curl(["http://127.0.0.1:\(frontend.admin)/metrics"]).output
                #expect(
                    metrics.contains(#"weft_sidecar_requests_total{direction="outbound",status="2xx"} 3"#), "\(metrics)"
                )
                let inbound = try Command.curl(["http://127.0.0.1:\(backend.admin)/metrics"]).output
                #expect(
                    inbound.contains(#"weft_sidecar_requests_total{direction="inbound",status="2xx"} 3"#), "\(inbound)")
                #expect(metrics.contains("weft_sidecar_certificate_expiry_seconds"))

                // A new snapshot file is applied without a restart: the upstream is gone.
                _ = try mesh.snapshot("frontend.json", version: 2)
                Command.eventually { frontend.process.output.contains("applied snapshot version 2") }
                let gone = try Command.curl([
                    "-w", "%{http_code}", "-o", "/dev/null", "http://127.0.0.1:\(frontend.upstreams["backend"]!)/",
                ])
                #expect(gone.output == "404")
                // A broken one is refused and the last good one kept.
                _ = try mesh.scratch.write("frontend.json", "{not json")
                Command.eventually { frontend.process.output.contains("refused the changed snapshot file") }
                #expect(frontend.process.output.contains("keeping version 2"))

                backend.process.signal(SIGTERM)
                let status = backend.process.stop(grace: 8)
                #expect(ChildProcess.succeeded(status), "\(backend.process.output)")
                #expect(backend.process.output.contains("weft-sidecar stopped"))
            }
        }
    }

    /// Docker cannot run here: the image's build stage and the compose file are
    /// checked against Package.swift and the executable statically.
    @Test func theImageCopiesEveryTargetPathAndBuildsTheSidecar() throws {
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let dockerfile = try String(contentsOf: Self.root.appendingPathComponent("deploy/Dockerfile"), encoding: .utf8)
        let copied = dockerfile.split(separator: "\n").filter { $0.hasPrefix("COPY ") }
            .compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) }.filter { !$0.hasPrefix("--") }
        // The fuzz targets exist only with WEFT_FUZZ=1 (scripts/fuzz), never in the image.
        let paths = manifest.matches(of: /path: "([^"]+)"/).map { String($0.1) }.filter { !$0.hasPrefix("Fuzz/") }
        #expect(paths.count > 20)
        for path in paths {
            #expect(
                copied.contains { path == $0 || path.hasPrefix($0 + "/") }, "deploy/Dockerfile does not copy \(path)")
        }
        #expect(dockerfile.contains("--product weft-sidecar"))
        #expect(dockerfile.contains(".build/release/weft-sidecar"))
    }
}
