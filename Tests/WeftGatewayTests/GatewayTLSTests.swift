import Foundation
import Testing
import WeftTestSupport

/// The gateway's TLS listener with real clients: curl over HTTP/1.1 and HTTP/2
/// gets, for each host name it asks for, the certificate that names it; the
/// cleartext port redirects to HTTPS; certificates replaced on disk are served
/// to new connections while an established one carries on; a bad replacement
/// is refused and the old certificates keep serving.
@Suite(.serialized) struct GatewayTLSTests {
    /// A self-signed certificate for `names`, made by the openssl tool as an
    /// operator would.
    static func certificate(_ directory: Scratch, _ file: String, names: [String]) throws -> (
        certificate: String, key: String
    ) {
        let certificate = directory.path + "/\(file).pem"
        let key = directory.path + "/\(file).key"
        let result = try Command.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                "-out", certificate, "-days", "2", "-subj", "/CN=\(names[0])", "-addext",
                "subjectAltName=" + names.map { "DNS:" + $0 }.joined(separator: ","),
            ])
        guard result.status == 0 else { throw Command.Failure(description: "openssl req: \(result.errors)") }
        return (certificate, key)
    }

    /// curl to `host` on the TLS port (resolved to loopback), trusting `ca`.
    static func curl(_ host: String, port: Int, ca: String, _ flags: [String] = []) throws -> (
        status: Int32, output: String, errors: String
    ) {
        try Command.curl(
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code} %{http_version}", "--resolve", "\(host):\(port):127.0.0.1",
                "--cacert", ca,
            ] + flags + ["https://\(host):\(port)/pay"])
    }

    @Test func eachNameGetsItsCertificateOverBothProtocolsAndCleartextIsRedirected() async throws {
        try await blocking {
            let fixture = try MeshFixture()
            defer { fixture.stop() }
            let snapshot = try fixture.paymentsBehindGateway()
            let api = try Self.certificate(fixture.scratch, "api", names: ["api.pos.test"])
            let tills = try Self.certificate(fixture.scratch, "tills", names: ["*.tills.test", "tills.test"])
            let gateway = try fixture.startGateway(
                "edge", snapshot: snapshot,
                extra: [
                    "--tls-listen", "127.0.0.1:0", "--tls-certificate", api.certificate, "--tls-key", api.key,
                    "--tls-certificate", tills.certificate, "--tls-key", tills.key, "--https-redirect",
                ])
            let port = try #require(gateway.https, "no https port in \(gateway.process.output)")
            #expect(
                gateway.process.output.contains("TLS certificates: api.pos.test (default); *.tills.test, tills.test"))
            for (flag, version) in [("--http1.1", "1.1"), ("--http2", "2")] {
                let exact = try Self.curl("api.pos.test", port: port, ca: api.certificate, [flag])
                #expect(exact.output == "200 \(version)", "\(exact)")
                let wildcard = try Self.curl("till-7.tills.test", port: port, ca: tills.certificate, [flag])
                #expect(wildcard.output == "200 \(version)", "\(wildcard)")
            }
            // The certificate follows the name: the other one does not verify.
            let crossed = try Self.curl("api.pos.test", port: port, ca: tills.certificate)
            #expect(crossed.status == 60, "\(crossed)")
            // What the service hears: the client came in over HTTPS.
            let report = try Command.curl(
                [
                    "-s", "--resolve", "api.pos.test:\(port):127.0.0.1", "--cacert", api.certificate,
                    "https://api.pos.test:\(port)/pay",
                ])
            let headers = try Command.object(report.output)["headers"] as? [[String]] ?? []
            #expect(headers.contains(["x-forwarded-proto", "https"]), "\(headers)")
            // Cleartext: 308 to the same URL under https://, over both protocols.
            for flag in ["--http1.1", "--http2-prior-knowledge"] {
                let redirect = try Command.curl(
                    [
                        "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", flag, "-H", "Host: api.pos.test",
                        "http://127.0.0.1:\(gateway.http)/pay?till=7",
                    ])
                #expect(redirect.output == "308 https://api.pos.test:\(port)/pay?till=7", "\(flag): \(redirect)")
            }
            // curl prefers h2 when ALPN offers it.
            // A client that does not speak TLS on the TLS port is closed, and
            // nothing else is disturbed.
            let plaintext = try Command.curl(
                ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/pay"])
            #expect(plaintext.output == "000")
            let after = try Self.curl("api.pos.test", port: port, ca: api.certificate)
            #expect(after.output == "200 2", "\(after) \(gateway.process.output.suffix(2000))")
        }
    }

    @Test func replacedCertificatesServeNewConnectionsWhileOldOnesCarryOn() async throws {
        try await blocking {
            let fixture = try MeshFixture()
            defer { fixture.stop() }
            let snapshot = try fixture.paymentsBehindGateway()
            let first = try Self.certificate(fixture.scratch, "first", names: ["api.pos.test"])
            let gateway = try fixture.startGateway(
                "edge", snapshot: snapshot,
                extra: [
                    "--tls-listen", "127.0.0.1:0", "--tls-certificate", first.certificate, "--tls-key", first.key,
                ])
            let port = try #require(gateway.https)
            let original = fixture.scratch.file("original.pem")
            try FileManager.default.copyItem(atPath: first.certificate, toPath: original)
            // A client on one TLS connection: a request, then another once told.
            let go = fixture.scratch.path + "/go"
            let client = try fixture.scratch.write(
                "client.py",
                """
                import os, socket, ssl, sys, time
                context = ssl.create_default_context(cafile=sys.argv[2])
                raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
                tls = context.wrap_socket(raw, server_hostname="api.pos.test")
                reader = tls.makefile("rb")
                def call():
                    tls.sendall(b"GET /pay HTTP/1.1\\r\\nHost: api.pos.test\\r\\n\\r\\n")
                    status = reader.readline().split()[1].decode()
                    length = 0
                    while True:
                        line = reader.readline().strip()
                        if not line:
                            break
                        name, _, value = line.partition(b":")
                        if name.lower() == b"content-length":
                            length = int(value)
                    reader.read(length)
                    return status
                print("first", call(), flush=True)
                while not os.path.exists(sys.argv[3]):
                    time.sleep(0.05)
                print("second", call(), flush=True)
                """)
            let held = try ChildProcess("/usr/bin/python3", [client, String(port), original, go])
            defer { _ = held.stop() }
            #expect(held.waitForOutput("first 200"), "\(held.output)")
            // A key that does not match: refused, the old pair keeps serving.
            let stray = try Self.certificate(fixture.scratch, "stray", names: ["stray.test"])
            try FileManager.default.removeItem(atPath: first.key)
            try FileManager.default.copyItem(atPath: stray.key, toPath: first.key)
            #expect(gateway.process.waitForOutput("refused the changed TLS certificates"), "\(gateway.process.output)")
            #expect(try Self.curl("api.pos.test", port: port, ca: first.certificate).output == "200 2")
            // The renewed pair, for one more name: new connections get it.
            let renewed = try Self.certificate(fixture.scratch, "renewed", names: ["api.pos.test", "new.pos.test"])
            for (from, to) in [(renewed.certificate, first.certificate), (renewed.key, first.key)] {
                try FileManager.default.removeItem(atPath: to)
                try FileManager.default.copyItem(atPath: from, toPath: to)
            }
            #expect(gateway.process.waitForOutput("reloaded the TLS certificates: api.pos.test, new.pos.test"))
            #expect(try Self.curl("new.pos.test", port: port, ca: renewed.certificate).output == "200 2")
            #expect(try Self.curl("api.pos.test", port: port, ca: original).status == 60)
            // The connection made before the reload still works.
            FileManager.default.createFile(atPath: go, contents: Data())
            #expect(held.waitForOutput("second 200"), "\(held.output)")
        }
    }

    @Test func badTLSFlagsExit64AndUnusableFilesExit78() async throws {
        try await blocking {
            let fixture = try MeshFixture()
            defer { fixture.stop() }
            let base = [
                "--name", "edge", "--certificate", "/c", "--key", "/k", "--trust-bundle", "/b", "--snapshot-file", "/s",
            ]
            for (arguments, message) in [
                (["--tls-listen", "127.0.0.1:0"], "needs at least one --tls-certificate"),
                (["--tls-listen", "127.0.0.1:0", "--tls-certificate", "/a"], "0 key(s) for 1 certificate(s)"),
                (["--tls-certificate", "/a", "--tls-key", "/b"], "need --tls-listen"),
                (["--https-redirect"], "need --tls-listen"),
                (
                    [
                        "--tls-listen", "127.0.0.1:0", "--tls-certificate", "/a", "--tls-key", "/b",
                        "--tls-min-version",
                        "1.1",
                    ],
                    "--tls-min-version: 1.1"
                ),
                (
                    [
                        "--tls-listen", "127.0.0.1:0", "--tls-certificate", "/a", "--tls-key", "/b",
                        "--https-redirect-port", "8443",
                    ],
                    "only with --https-redirect"
                ),
            ] as [([String], String)] {
                let result = try ChildProcess.run(MeshFixture.gatewayBinary, base + arguments)
                #expect(result.status == 64, "\(arguments): \(result.output)")
                #expect(result.output.contains(message), "\(arguments): \(result.output)")
            }
            // A key that is not the certificate's: exit 78 naming both files.
            let mine = try fixture.credentials(for: MeshFixture.identity("edge"))
            let one = try Self.certificate(fixture.scratch, "one", names: ["one.test"])
            let two = try Self.certificate(fixture.scratch, "two", names: ["two.test"])
            let mismatched = try ChildProcess.run(
                MeshFixture.gatewayBinary,
                [
                    "--name", "edge", "--listen", "127.0.0.1:0", "--admin", "off", "--trust-bundle", fixture.bundle,
                    "--certificate", mine.certificate, "--key", mine.key, "--snapshot-file",
                    try fixture.snapshot("s.json"),
                    "--tls-listen", "127.0.0.1:0", "--tls-certificate", one.certificate, "--tls-key", two.key,
                ])
            #expect(mismatched.status == 78)
            #expect(mismatched.output.contains("\(one.certificate) with \(two.key)"), "\(mismatched.output)")
            // An access log it cannot write: exit 78 before any port opens.
            let unwritable = try ChildProcess.run(
                MeshFixture.gatewayBinary,
                [
                    "--name", "edge", "--listen", "127.0.0.1:0", "--admin", "off", "--trust-bundle", fixture.bundle,
                    "--certificate", mine.certificate, "--key", mine.key, "--snapshot-file",
                    try fixture.snapshot("t.json"),
                    "--access-log", "/nonexistent/access.log",
                ])
            #expect(unwritable.status == 78)
            #expect(
                unwritable.output.contains("cannot open the access log /nonexistent/access.log"), "\(unwritable.output)"
            )
        }
    }
}
