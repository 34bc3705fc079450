import Foundation
import Testing
import WeftTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The weft-gateway executable: flags, refusals at start, the admin port, the
/// drain on SIGTERM, and its place in the image.
@Suite(.serialized) struct GatewayProcessTests {
    static let binary = MeshFixture.gatewayBinary
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func documentsEveryFlagAndRefusesBadOnesWithExit64() async throws {
        try await blocking {
            let help = try ChildProcess.run(Self.binary, ["--help"])
            #expect(help.status == 0)
            for flag in [
                "--name", "--namespace", "--listen", "--admin", "--certificate", "--key", "--trust-bundle",
                "--snapshot-file", "--registry", "--registry-token-file", "--threads", "--drain-timeout", "--log-level",
                "WEFT_GATEWAY_NAME", "/routes/explain", "--max-connections", "--header-read-timeout", "--idle-timeout",
                "--max-request-body", "--tls-listen", "--tls-certificate", "--tls-key", "--tls-min-version",
                "--https-redirect", "--https-redirect-port", "WEFT_TLS_CERTIFICATES", "--access-log",
                "--max-concurrent-streams",
                "--otlp-endpoint", "--trace-sample",
            ] {
                #expect(help.output.contains(flag), "--help does not mention \(flag)")
            }
            let base = [
                "--name", "edge", "--certificate", "/c", "--key", "/k", "--trust-bundle", "/b", "--snapshot-file", "/s",
            ]
            let cases: [([String], String)] = [
                (Array(base.dropFirst(2)), "--name is required"),
                (["--name", "Edge_1"] + base.dropFirst(2), "--name"),
                (base + ["--listen", "off"], "--listen: the gateway needs a port"),
                (base + ["--listen", "nowhere"], "--listen"),
                (base + ["--threads", "65"], "--threads must be"),
                (base + ["--registry", "http://registry:8080"], "--registry needs --registry-token-file"),
                (Array(base.prefix(8)), "--snapshot-file is required"),
                (base + ["--max-request-body", "-1"], "--max-request-body"),
                (base + ["--header-read-timeout", "0"], "--header-read-timeout"),
                (base + ["--idle-timeout", "soon"], "--idle-timeout"),
                (base + ["--max-connections", "0"], "--max-connections"),
                (base + ["--access-log", ""], "--access-log: give a file"),
                (base + ["--access-log-sample", "2"], "--access-log-sample: expected a ratio from 0 to 1"),
                (
                    base + ["--otlp-endpoint", "grpc://collector:4317"],
                    "--otlp-endpoint: expected http://host:port[/path]"
                ),
            ]
            for (arguments, message) in cases {
                let result = try ChildProcess.run(Self.binary, arguments)
                #expect(result.status == 64, "\(arguments): exit \(result.status)")
                #expect(result.output.contains(message), "\(arguments): \(result.output)")
            }
        }
    }

    @Test func refusesToStartWithAnotherIdentityOrAnInvalidRouteTable() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let snapshot = try mesh.snapshot("s.json")
            let other = try mesh.credentials(for: MeshFixture.identity("payments"))
            let arguments = [
                "--name", "edge", "--listen", "127.0.0.1:0", "--admin", "off", "--trust-bundle", mesh.bundle,
            ]
            let wrong = try ChildProcess.run(
                Self.binary,
                arguments + ["--certificate", other.certificate, "--key", other.key, "--snapshot-file", snapshot])
            #expect(wrong.status == 78)
            #expect(wrong.output.contains("it is for spiffe://weft.local/ns/default/sa/payments"), "\(wrong.output)")
            let mine = try mesh.credentials(for: MeshFixture.identity("edge"))
            // Weights that do not sum to 100: the table never reaches the router.
            let invalid = try mesh.scratch.write(
                "bad.json",
                #"{"version": 1, "generated_at": "2026-11-28T00:00:00Z", "gateway_routes": {"routes": [{"name": "a", "destinations": [{"service": "x", "weight": 60}, {"service": "y", "weight": 30}]}]}}"#
            )
            let refused = try ChildProcess.run(
                Self.binary,
                arguments + ["--certificate", mine.certificate, "--key", mine.key, "--snapshot-file", invalid])
            #expect(refused.status == 78)
            #expect(refused.output.contains("weights sum to 90"), "\(refused.output)")
        }
    }

    @Test func theAdminPortAndTheDrainOnSigterm() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let snapshot = try mesh.snapshot("edge.json")
            let gateway = try mesh.startGateway("edge", snapshot: snapshot)
            _ = try Command.curl(["http://127.0.0.1:\(gateway.http)/nothing"])
            let ready = try Command.curl(["http://127.0.0.1:\(gateway.admin)/ready"])
            #expect(ready.output.hasPrefix("ready: snapshot version 1"), "\(ready.output)")
            let metrics = try Command.curl(["http://127.0.0.1:\(gateway.admin)/metrics"]).output
            #expect(metrics.contains("weft_gateway_requests_total"), "\(metrics)")
            #expect(metrics.contains("weft_gateway_certificate_expiry_seconds"))
            let wrongMethod = try Command.curl([
                "-w", "%{http_code}", "-o", "/dev/null", "http://127.0.0.1:\(gateway.admin)/routes/explain",
            ])
            #expect(wrongMethod.output == "405")
            gateway.process.signal(SIGTERM)
            let status = gateway.process.stop(grace: 8)
            #expect(ChildProcess.succeeded(status), "\(gateway.process.output)")
            #expect(gateway.process.output.contains("weft-gateway stopped"))
        }
    }

    /// Raw HTTP/1.1 the way an attacker writes it, through a real socket: what
    /// the parser refuses is answered precisely and the connection closed, and
    /// the gateway keeps serving.
    @Test func malformedAndOversizedRequestsFromTheEdgeAreRefused() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let gateway = try mesh.startGateway("edge", snapshot: try mesh.snapshot("edge.json"))
            func send(_ request: String) throws -> String {
                let script = """
                    import socket, sys
                    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
                    s.sendall(sys.stdin.buffer.read())
                    data = b""
                    while True:
                        chunk = s.recv(65536)
                        if not chunk: break
                        data += chunk
                    sys.stdout.write(data.decode("latin-1"))
                    """
                let program = try mesh.scratch.write("raw_send.py", script)
                let input = try mesh.scratch.write("request-\(request.utf8.count).txt", request)
                let result = try Command.run("/bin/sh", ["-c", "python3 \(program) \(gateway.http) < \(input)"])
                return result.output
            }
            let oversized = "GET / HTTP/1.1\r\nHost: a\r\nx-big: " + String(repeating: "a", count: 90_000) + "\r\n\r\n"
            #expect(try send(oversized).hasPrefix("HTTP/1.1 431"))
            let smuggled = [
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
                "GET / HTTP/1.1\r\nHost: a\r\nx-fold: a\r\n b\r\n\r\n",
            ]
            for request in smuggled {
                let answer = try send(request)
                #expect(answer.hasPrefix("HTTP/1.1 400"), "\(request.debugDescription): \(answer.prefix(200))")
            }
            // A bad chunk size is found only after the head, which this table has
            // already answered (404): the 400 follows, and the connection closes
            // (the socket read ends), with nothing of the body forwarded.
            let badChunk = try send(
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n")
            #expect(badChunk.contains("HTTP/1.1 400"), "\(badChunk)")
            #expect(badChunk.contains("invalid character in chunk size"), "\(badChunk)")
            // Still serving: a plain request gets its 404 no-route.
            let after = try send("GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            #expect(after.hasPrefix("HTTP/1.1 404"), "\(after.prefix(200))")
            #expect(after.contains("no-route"))
        }
    }

    /// The image builds and ships the gateway (Docker cannot run here; checked statically).
    @Test func theImageBuildsTheGateway() async throws {
        try await blocking {
            let dockerfile = try String(
                contentsOf: Self.root.appendingPathComponent("deploy/Dockerfile"), encoding: .utf8)
            #expect(dockerfile.contains("--product weft-gateway"))
            #expect(dockerfile.contains(".build/release/weft-gateway"))
        }
    }
}
