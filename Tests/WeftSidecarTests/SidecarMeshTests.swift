import Foundation
import Testing
import WeftHTTP2
import WeftTLS
import WeftTestSupport

/// Requests crossing the mesh for real: curl → weft-sidecar (frontend) → mutual
/// TLS HTTP/2 → weft-sidecar (backend) → weft-echo, all separate processes.
@Suite(.serialized) struct SidecarMeshTests {
    /// frontend's sidecar calls backend's; backend allows frontend.
    static func withMesh<T>(
        backendProtocol: String = "http", intentions: [(source: String, destination: String, action: String)]? = nil,
        _ body: (MeshFixture, MeshFixture.Sidecar, MeshFixture.Sidecar) throws -> T
    ) throws -> T {
        let mesh = try MeshFixture()
        defer { mesh.stop() }
        let echo = try mesh.startEcho()
        let (frontend, backend) = try mesh.startPair(app: echo, appProtocol: backendProtocol, intentions: intentions)
        return try body(mesh, frontend, backend)
    }

    static func curl(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        try Command.curl(arguments)
    }

    @Test func aRequestCrossesTheMeshOverHTTP1AndH2cWithTheCallersIdentity() async throws {
        try await blocking {
            try Self.withMesh { mesh, frontend, backend in
                let port = frontend.upstreams["backend"]!
                for flag in ["--http1.1", "--http2-prior-knowledge"] {
                    let result = try Self.curl([
                        flag, "-H", "x-weft-caller-identity: spiffe://weft.local/ns/default/sa/forged",
                        "http://127.0.0.1:\(port)/hello?x=1",
                    ])
                    #expect(result.status == 0, "\(flag): \(result.errors)")
                    let report = try Command.object(result.output)
                    #expect(report["path"] as? String == "/hello?x=1", "\(flag): \(result.output)")
                    let headers = report["headers"] as? [[String]] ?? []
                    let identities = headers.filter { $0.first == "x-weft-caller-identity" }.map { $0.last ?? "" }
                    #expect(identities == [MeshFixture.identity("frontend")], "\(flag): \(headers)")
                    #expect(headers.contains { $0.first == "traceparent" && $0.last?.count == 55 }, "\(flag)")
                    #expect(headers.contains { $0.first == "x-forwarded-for" && $0.last == "127.0.0.1" }, "\(flag)")
                    #expect(headers.contains { $0.first == "x-forwarded-proto" && $0.last == "https" }, "\(flag)")
                }
                // The proxy port routes by Host.
                let viaProxy = try Self.curl([
                    "--proxy", "http://127.0.0.1:\(frontend.proxy)", "http://backend/through-proxy",
                ])
                #expect(viaProxy.status == 0, "\(viaProxy.errors)")
                #expect(try Command.object(viaProxy.output)["path"] as? String == "/through-proxy")
                _ = (mesh, backend)
            }
        }
    }
}

extension SidecarMeshTests {
    @Test func bodiesOfEverySizeCrossIntactBothWays() async throws {
        try await blocking {
            try Self.withMesh { mesh, frontend, _ in
                let port = frontend.upstreams["backend"]!
                for size in [0, 1024, 8 << 20] {
                    let bytes = Command.randomBytes(size)
                    let file = mesh.scratch.file("body-\(size)")
                    try Data(bytes).write(to: URL(fileURLWithPath: file))
                    for flag in ["--http1.1", "--http2-prior-knowledge"] {
                        let out = mesh.scratch.file("out-\(size)")
                        let result = try Self.curl([
                            flag, "-H", "x-echo-stream: 1", "--data-binary", "@" + file, "-o", out,
                            "-w", "%{http_code}", "http://127.0.0.1:\(port)/stream",
                        ])
                        #expect(result.status == 0 && result.output == "200", "\(size) \(flag): \(result.errors)")
                        let back = try Data(contentsOf: URL(fileURLWithPath: out))
                        #expect(back == Data(bytes), "\(size) bytes over \(flag) came back as \(back.count)")
                    }
                }
            }
        }
    }

    @Test func anH2cApplicationGetsTrailersAndTheCallerKeepsThem() async throws {
        try await blocking {
            try Self.withMesh(backendProtocol: "http2") { _, frontend, _ in
                let (channel, client) = try HTTP2TestClient.connect(port: frontend.upstreams["backend"]!)
                defer { try? channel.close().wait() }
                let response = try HTTP2TestClient.request(
                    client, on: channel, method: "POST", path: "/t", authority: "backend", body: "payload",
                    trailers: [.init("x-checksum", "abc")])
                #expect(response.status == "200")
                let report = try Command.object(response.text)
                #expect(report["protocol"] as? String == "h2")
                #expect(report["body"] as? String == "payload")
                let trailers = report["trailers"] as? [[String]] ?? []
                #expect(trailers.contains(["x-checksum", "abc"]), "\(report)")
            }
        }
    }

    /// The proxy's own answers: status, reason header, problem document.
    @Test func failuresAreAnsweredPreciselyForHTTPAndGRPCCallers() async throws {
        try await blocking {
            try Self.withMesh(intentions: [(MeshFixture.identity("frontend"), "backend", "deny")]) {
                mesh, frontend, _ in
                func problem(_ arguments: [String]) throws -> (String, String, [String: Any]) {
                    let headers = mesh.scratch.file("headers")
                    let result = try Self.curl(
                        ["-D", headers, "-w", "%{http_code}", "-o", mesh.scratch.file("body")] + arguments)
                    let head = (try? String(contentsOfFile: headers, encoding: .utf8)) ?? ""
                    let reason =
                        head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("x-weft-error:") }
                        .map { String($0.dropFirst("x-weft-error:".count)).trimmingCharacters(in: .whitespaces) } ?? ""
                    let body = (try? String(contentsOfFile: mesh.scratch.file("body"), encoding: .utf8)) ?? ""
                    return (result.output, reason, (try? Command.object(body)) ?? [:])
                }
                // Denied by the backend's intentions: 403.
                let (denied, deniedReason, deniedBody) = try problem([
                    "http://127.0.0.1:\(frontend.upstreams["backend"]!)/"
                ]
                )
                #expect(denied == "403" && deniedReason == "denied")
                #expect(
                    (deniedBody["detail"] as? String)?.contains("may not call default/backend") == true, "\(deniedBody)"
                )
                // A name nobody declared, through the proxy port: 404.
                let (unknown, unknownReason, _) = try problem([
                    "--proxy", "http://127.0.0.1:\(frontend.proxy)", "http://nowhere/",
                ])
                #expect(unknown == "404" && unknownReason == "unknown-upstream")
                // A gRPC caller gets a trailers-only answer with the matching status.
                let (channel, client) = try HTTP2TestClient.connect(port: frontend.proxy)
                defer { try? channel.close().wait() }
                let grpc = try HTTP2TestClient.request(
                    client, on: channel, method: "POST", path: "/pkg.Service/Call", authority: "nowhere",
                    headers: [.init("content-type", "application/grpc"), .init("te", "trailers")], body: "")
                #expect(grpc.status == "200")
                #expect(grpc.headers[first: "grpc-status"] == "12", "\(grpc.headers)")
                #expect(grpc.headers[first: "x-weft-error"] == "unknown-upstream")
            }
        }
    }

    @Test func anUpstreamWithoutEndpointsOrBehindAnImpostorIsRefusedBeforeSending() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let echo = try mesh.startEcho()
            // A sidecar presenting the identity "impostor" where "backend" is expected.
            let impostor = try mesh.startSidecar(
                "impostor", app: echo,
                snapshot: try mesh.snapshot("impostor.json", intentions: [("*", "impostor", "allow")]))
            let snapshot = try mesh.snapshot(
                "frontend.json", upstreams: [("backend", "http", [impostor.inbound]), ("empty", "http", [])])
            let frontend = try mesh.startSidecar(
                "frontend", app: 1, snapshot: snapshot, upstreams: ["backend", "empty"])
            let wrong = try Self.curl(["-w", "\n%{http_code}", "http://127.0.0.1:\(frontend.upstreams["backend"]!)/"])
            #expect(wrong.output.hasSuffix("503"), "\(wrong.output): \(frontend.process.output)")
            #expect(
                wrong.output.contains("not the expected spiffe://weft.local/ns/default/sa/backend"), "\(wrong.output)")
            let empty = try Self.curl(["-w", "\n%{http_code}", "http://127.0.0.1:\(frontend.upstreams["empty"]!)/"])
            #expect(empty.output.hasSuffix("503") && empty.output.contains("no-endpoints"), "\(empty.output)")
        }
    }

    @Test func theMeshPortRefusesPlaintextAnonymousAndForeignCallers() async throws {
        try await blocking {
            try Self.withMesh { mesh, _, backend in
                let url = "https://127.0.0.1:\(backend.inbound)/"
                // Plaintext HTTP/2: not a TLS record, so no HTTP/2 conversation at
                // all (curl reads nothing it can use and gives up on the transfer).
                let plain = try Self.curl(["--http2-prior-knowledge", "http://127.0.0.1:\(backend.inbound)/"])
                #expect(plain.status != 0 && plain.output.isEmpty, "\(plain)")
                let raw = try RawSocket(port: backend.inbound, receiveTimeout: 10)
                raw.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
                let answer = raw.readBytesToClose()
                #expect(answer == [], "\(answer.map { $0.map { String($0, radix: 16) } } ?? [])")
                // TLS without a client certificate: the handshake ends with the
                // server's certificate_required alert (TLS 1.3).
                #expect(try Command.tlsAlert(port: backend.inbound) == "certificate required")
                #expect(try Self.curl(["--http2", "-k", url]).status != 0)
                // A certificate from another CA: unknown_ca.
                let now = Int64(Date().timeIntervalSince1970)
                let foreignRoot = try CertificateIssuer.selfSignedRoot(
                    key: try PrivateKey.generateP256(), commonName: "foreign", notBefore: now - 60, notAfter: now + 3600
                )
                let foreign = try mesh.credentials(
                    for: MeshFixture.identity("frontend"), issuer: foreignRoot, name: "foreign")
                #expect(
                    try Command.tlsAlert(port: backend.inbound, certificate: foreign.certificate, key: foreign.key)
                        == "unknown ca")
                // Our CA, another trust domain: the chain verifies, the identity does
                // not belong here. The verify callback's refusal is an application
                // verification error, which OpenSSL answers with handshake_failure;
                // the reason is in the sidecar's log (below).
                let outsider = try mesh.credentials(
                    for: MeshFixture.identity("frontend", trustDomain: "other.mesh"), name: "outsider")
                let outsiderAlert = try Command.tlsAlert(
                    port: backend.inbound, certificate: outsider.certificate, key: outsider.key)
                #expect(outsiderAlert == "handshake failure")
                #expect(
                    try Self.curl(["--http2", "-k", "--cert", outsider.certificate, "--key", outsider.key, url]).status
                        != 0
                )
                // The sidecar logs the refusal after curl has given up: wait for the line.
                Command.eventually { backend.process.output.contains("outside this mesh's trust domain weft.local") }
                #expect(backend.process.output.contains("outside this mesh's trust domain weft.local"))
                #expect(
                    backend.process.output.contains("unknown ca") || backend.process.output.contains("unable to get"))
                // Counted by reason on /metrics.
                let metrics = try Self.curl(["-s", "http://127.0.0.1:\(backend.admin)/metrics"]).output
                func failures(_ reason: String) -> Int {
                    let line = metrics.split(separator: "\n").first {
                        $0.hasPrefix("weft_sidecar_tls_handshake_failures_total{reason=\"\(reason)\"}")
                    }
                    return Int(line?.split(separator: " ").last ?? "") ?? 0
                }
                #expect(failures("verificationFailed") >= 2, "\(metrics)")
                #expect(failures("handshakeFailed") >= 1, "\(metrics)")
            }
        }
    }

    @Test func requestSmugglingShapesFromTheAppAreRefusedAndTheConnectionClosed() async throws {
        try await blocking {
            try Self.withMesh { _, frontend, _ in
                let port = frontend.upstreams["backend"]!
                let shapes = [
                    "POST / HTTP/1.1\r\nHost: b\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                    "POST / HTTP/1.1\r\nHost: b\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd",
                    "POST / HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: b\r\nX-Folded: a\r\n b\r\n\r\n",
                    "GET / HTTP/1.1\rHost: b\r\n\r\n",
                    "GET / HTTP/1.1\nHost: b\n\n",
                ]
                for shape in shapes {
                    let answer = try RawHTTP.exchange(port: port, shape)
                    #expect(
                        answer.hasPrefix("HTTP/1.1 400"),
                        "\(shape.debugDescription): \(answer.prefix(80).debugDescription)"
                    )
                }
            }
        }
    }
}
