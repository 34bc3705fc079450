import Foundation
import Testing
import WeftTLS
import WeftTestSupport

/// Sidecars that get their identity from a real weft-ca (on a real PostgreSQL):
/// a join token the first time, the data directory after that, renewal over
/// mutual TLS while traffic flows, and precise refusals.
@Suite(.serialized) struct SidecarJoinTests {
    static func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int) ?? -1
    }

    /// The flags that make a sidecar join through `ca` with a token of its own.
    static func joining(
        _ mesh: MeshFixture, _ ca: MeshFixture.Authority, _ service: String, token: String?, extra: [String] = []
    ) throws -> [String] {
        var flags = ["--ca", ca.url, "--ca-bundle", ca.bundleFile, "--data-dir", mesh.scratch.file("\(service)-data")]
        if let token { flags += ["--join-token-file", try mesh.scratch.write("\(service).join", token + "\n")] }
        return flags + extra
    }

    /// 1 % of a 5-minute lifetime: a renewal every 3 to 3.6 s; the bundle every second.
    static let fastRenewal = ["--renew-at", "1", "--bundle-refresh", "1"]

    /// frontend → backend → weft-echo, both sidecars joined through `ca` and
    /// renewing every few seconds.
    static func fastRenewingPair(_ mesh: MeshFixture, _ ca: MeshFixture.Authority) throws
        -> (frontend: MeshFixture.Sidecar, backend: MeshFixture.Sidecar)
    {
        let echo = try mesh.startEcho()
        let backend = try mesh.startSidecar(
            "backend", app: echo,
            snapshot: try mesh.snapshot(
                "backend.json", intentions: [(MeshFixture.identity("frontend"), "backend", "allow")]),
            identity: try joining(
                mesh, ca, "backend", token: try ca.joinToken(for: MeshFixture.identity("backend")), extra: fastRenewal))
        let frontend = try mesh.startSidecar(
            "frontend", app: 1,
            snapshot: try mesh.snapshot("frontend.json", upstreams: [("backend", "http", [backend.inbound])]),
            upstreams: ["backend"],
            identity: try joining(
                mesh, ca, "frontend", token: try ca.joinToken(for: MeshFixture.identity("frontend")),
                extra: fastRenewal))
        return (frontend, backend)
    }

    @Test func sidecarsJoinWithATokenAndComeBackFromTheirDataDirectoryWithoutTheCA() async throws {
        try await TemporaryPostgres.with { postgres in
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let ca = try mesh.startAuthority(postgres)
            let echo = try mesh.startEcho()
            let backendSnapshot = try mesh.snapshot(
                "backend.json", intentions: [(MeshFixture.identity("frontend"), "backend", "allow")])
            let backend = try mesh.startSidecar(
                "backend", app: echo, snapshot: backendSnapshot,
                identity: try Self.joining(
                    mesh, ca, "backend", token: try ca.joinToken(for: MeshFixture.identity("backend"))))
            let frontendSnapshot = try mesh.snapshot(
                "frontend.json", upstreams: [("backend", "http", [backend.inbound])])
            let frontendFlags = try Self.joining(
                mesh, ca, "frontend", token: try ca.joinToken(for: MeshFixture.identity("frontend")))
            let frontend = try mesh.startSidecar(
                "frontend", app: 1, snapshot: frontendSnapshot, upstreams: ["backend"], identity: frontendFlags)
            let url = "http://127.0.0.1:\(frontend.upstreams["backend"]!)/joined"
            #expect(try Command.curl(["-sS", "-o", "/dev/null", "-w", "%{http_code}", url]).output == "200")
            #expect(frontend.process.output.contains("joined the mesh with a join token"), "\(frontend.process.output)")

            // The data directory: private, the key never leaves it, the chain is
            // this identity's and issued by the CA.
            let data = mesh.scratch.file("frontend-data")
            #expect(Self.mode(data) == 0o700)
            #expect(Self.mode(data + "/key.pem") == 0o600)
            let chain = data + "/chain.pem"
            let text = try ChildProcess.run(
                "/usr/bin/openssl", ["x509", "-in", chain, "-noout", "-ext", "subjectAltName"])
            #expect(text.output.contains("URI:\(MeshFixture.identity("frontend"))"), "\(text.output)")
            let ledger = try ca.call("GET", "/v1/certificates?identity=\(MeshFixture.identity("frontend"))")
            #expect(ledger.0 == 200 && ledger.1.contains(#""via":"join-token""#), "\(ledger.1)")

            // The whole control plane gone, the sidecar restarted: it comes back
            // from what it kept (its token is used up, so it could not have joined
            // again) and serves.
            frontend.process.stop()
            ca.process.stop()
            let again = try mesh.startSidecar(
                "frontend", app: 1, snapshot: frontendSnapshot, upstreams: ["backend"], identity: frontendFlags)
            #expect(
                again.process.output.contains("using the certificate kept in --data-dir"), "\(again.process.output)")
            let restarted = "http://127.0.0.1:\(again.upstreams["backend"]!)/again"
            #expect(try Command.curl(["-sS", "-o", "/dev/null", "-w", "%{http_code}", restarted]).output == "200")
            let ready = try Command.curl(["-sS", "http://127.0.0.1:\(again.admin)/ready"]).output
            #expect(ready.contains("ready"), "\(ready)")

            // A renewal stopped between writing its chain and promoting its new
            // key (chain.pem for key.pem.next, key.pem still the old key): the
            // next start finishes it instead of joining again (it could not: the
            // token is used up and the CA is gone).
            again.process.stop()
            let key = data + "/key.pem"
            #expect(rename(key, key + ".next") == 0)
            try PrivateKey.generateP256().pkcs8PEM().write(toFile: key, atomically: true, encoding: .utf8)
            chmod(key, 0o600)
            let resumed = try mesh.startSidecar(
                "frontend", app: 1, snapshot: frontendSnapshot, upstreams: ["backend"], identity: frontendFlags)
            #expect(
                resumed.process.output.contains("finished a renewal the last run left half done"),
                "\(resumed.process.output)")
            #expect(!FileManager.default.fileExists(atPath: key + ".next"))
            #expect(Self.mode(key) == 0o600)
            let resumedURL = "http://127.0.0.1:\(resumed.upstreams["backend"]!)/resumed"
            #expect(try Command.curl(["-sS", "-o", "/dev/null", "-w", "%{http_code}", resumedURL]).output == "200")
        }
    }

    @Test func refusesToJoinWithTheWrongTokenOrNone() async throws {
        try await TemporaryPostgres.with { postgres in
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let ca = try mesh.startAuthority(postgres)
            let snapshot = try mesh.snapshot("web.json")
            let base = [
                "--service", "web", "--app", "127.0.0.1:1", "--inbound", "127.0.0.1:0", "--outbound-proxy", "off",
                "--admin", "off", "--snapshot-file", snapshot,
            ]
            func run(_ name: String, token: String?) throws -> (status: Int32, output: String) {
                var flags = [
                    "--ca", ca.url, "--ca-bundle", ca.bundleFile, "--data-dir", mesh.scratch.file("\(name)-data"),
                ]
                if let token { flags += ["--join-token-file", try mesh.scratch.write("\(name).join", token)] }
                return try ChildProcess.run(MeshFixture.sidecarBinary, base + flags)
            }
            // A token for another identity: the CA refuses, and the sidecar says why.
            let other = try run("other", token: try ca.joinToken(for: MeshFixture.identity("payments")))
            #expect(other.status == 78, "\(other.output)")
            #expect(other.output.contains("the CA refused (403)"), "\(other.output)")
            // A token the CA never issued.
            let unknown = try run("unknown", token: "wjt_" + String(repeating: "A", count: 43))
            #expect(unknown.status == 78, "\(unknown.output)")
            #expect(unknown.output.contains("the CA refused (401)"), "\(unknown.output)")
            // A used-up token: the first join spends it, a second proxy cannot reuse it.
            let once = try ca.joinToken(for: MeshFixture.identity("web"))
            let first = try ChildProcess(
                MeshFixture.sidecarBinary,
                base + [
                    "--ca", ca.url, "--ca-bundle", ca.bundleFile, "--data-dir", mesh.scratch.file("first-data"),
                    "--join-token-file", try mesh.scratch.write("first.join", once),
                ])
            #expect(first.waitForOutput(" ready (snapshot"), "\(first.output)")
            first.stop()
            let reused = try run("reused", token: once)
            #expect(reused.status == 78, "\(reused.output)")
            #expect(reused.output.contains("the CA refused (401)"), "\(reused.output)")
            // No token and nothing kept: the message says what to do.
            let none = try run("none", token: nil)
            #expect(none.status == 78)
            #expect(none.output.contains("no --join-token-file was given"), "\(none.output)")
            // Not a join token at all.
            let garbage = try run("garbage", token: "hello")
            #expect(garbage.status == 78)
            #expect(garbage.output.contains("--join-token-file: invalid join token"), "\(garbage.output)")
            // A CA that is not there: the sidecar does not wait forever, and names it.
            // (Its own startup wait is 60 s; usage errors come first.)
            for (flags, message) in [
                (["--ca", "http://127.0.0.1:1", "--ca-bundle", ca.bundleFile, "--data-dir", "/tmp/x"], "https only"),
                (["--ca", ca.url, "--data-dir", "/tmp/x"], "--ca needs --ca-bundle or --ca-fingerprint"),
                (
                    [
                        "--ca", ca.url, "--data-dir", "/tmp/x", "--ca-bundle", ca.bundleFile, "--ca-fingerprint",
                        "sha256:00",
                    ],
                    "--ca-bundle and --ca-fingerprint are exclusive"
                ),
                (
                    ["--ca", ca.url, "--data-dir", "/tmp/x", "--ca-fingerprint", "sha256:xyz"],
                    "--ca-fingerprint: expected sha256: and 64 hex digits"
                ),
                (["--ca", ca.url, "--ca-bundle", ca.bundleFile], "--data-dir is required"),
                (["--ca-bundle", ca.bundleFile], "--ca-bundle needs --ca"),
                (
                    ["--ca", ca.url, "--ca-bundle", ca.bundleFile, "--data-dir", "/tmp/x", "--certificate", "c.pem"],
                    "--certificate and --ca are exclusive"
                ),
                (
                    ["--ca", ca.url, "--ca-bundle", ca.bundleFile, "--data-dir", "/tmp/x", "--renew-at", "95"],
                    "--renew-at"
                ),
            ] {
                let result = try ChildProcess.run(MeshFixture.sidecarBinary, base + flags)
                #expect(result.status == 64, "\(flags): \(result.output)")
                #expect(result.output.contains(message), "\(flags): \(result.output)")
            }
        }
    }

    /// Certificates renewed every few seconds while h2load drives traffic through
    /// the pair: not one request fails, and new connections after the renewals
    /// still handshake.
    @Test func renewsUnderLoadWithoutAFailedRequest() async throws {
        try await TemporaryPostgres.with { postgres in
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let ca = try mesh.startAuthority(postgres)
            let (frontend, backend) = try Self.fastRenewingPair(mesh, ca)
            let url = "http://127.0.0.1:\(frontend.upstreams["backend"]!)/load"
            let serialBefore = try String(contentsOfFile: mesh.scratch.file("backend-data/chain.pem"), encoding: .utf8)
            let keyBefore = try String(contentsOfFile: mesh.scratch.file("backend-data/key.pem"), encoding: .utf8)
            let load = try Command.run("/usr/bin/h2load", ["-D", "10", "-c", "4", "-m", "4", url])
            let summary = load.output.split(separator: "\n").filter {
                $0.contains("requests:") || $0.contains("status codes")
            }
            #expect(load.output.contains("succeeded, 0 failed, 0 errored"), "\(summary)")
            #expect(load.output.contains(" 0 4xx, 0 5xx"), "\(summary)")
            for sidecar in [backend, frontend] {
                let renewals = sidecar.process.output.components(separatedBy: "mesh certificate renewed").count - 1
                #expect(renewals >= 2, "\(renewals) renewals: \(sidecar.process.output.suffix(2000))")
            }
            // The admin port says where the certificate comes from and how often it was renewed.
            let certificate = try Command.object(
                try Command.curl(["-s", "http://127.0.0.1:\(backend.admin)/certificate"]).output)
            #expect(certificate["source"] as? String == "weft-ca")
            #expect(certificate["identity"] as? String == MeshFixture.identity("backend"))
            #expect((certificate["renewals"] as? Int ?? 0) >= 2, "\(certificate)")
            let metrics = try Command.curl(["-s", "http://127.0.0.1:\(frontend.admin)/metrics"]).output
            let renewed = metrics.firstMatch(of: /weft_sidecar_certificate_renewals_total (\d+)/).flatMap { Int($0.1) }
            #expect((renewed ?? 0) >= 2, "\(metrics)")
            #expect(metrics.contains("weft_sidecar_snapshot_age_seconds "))
            let serialAfter = try String(contentsOfFile: mesh.scratch.file("backend-data/chain.pem"), encoding: .utf8)
            #expect(serialBefore != serialAfter, "the renewed chain was not kept")
            // Every renewal brings a new key, kept private, and nothing half done.
            let keyAfter = try String(contentsOfFile: mesh.scratch.file("backend-data/key.pem"), encoding: .utf8)
            #expect(keyBefore != keyAfter, "the key was not renewed")
            #expect(Self.mode(mesh.scratch.file("backend-data/key.pem")) == 0o600)
            // (Renewals go on every few seconds: the next key exists briefly
            // while one is under way, so wait for a moment between two.)
            let next = mesh.scratch.file("backend-data/key.pem.next")
            Command.eventually { !FileManager.default.fileExists(atPath: next) }
            #expect(!FileManager.default.fileExists(atPath: next), "a renewal was left half done")
            // A connection made after the renewals (curl, HTTP/1.1, a new mesh
            // connection when the pool dials again) still works.
            #expect(try Command.curl(["-sS", "-o", "/dev/null", "-w", "%{http_code}", url]).output == "200")
            let ledger = try ca.call("GET", "/v1/certificates?identity=\(MeshFixture.identity("backend"))&limit=100")
            #expect(ledger.1.components(separatedBy: #""via":"renewal""#).count - 1 >= 2, "\(ledger.1)")
        }
    }

    /// The CA's root rotated (publish, then activate) while h2load drives the
    /// pair: the sidecars pick the new root up from the bundle before it signs,
    /// renew under it, and not one request fails.
    @Test func aRootRotationRunsThroughTheMeshWhileTrafficFlows() async throws {
        try await TemporaryPostgres.with { postgres in
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let ca = try mesh.startAuthority(postgres, extra: ["--root-propagation", "3s"])
            let (frontend, backend) = try Self.fastRenewingPair(mesh, ca)
            let url = "http://127.0.0.1:\(frontend.upstreams["backend"]!)/rotate"
            let load = try ChildProcess("/usr/bin/h2load", ["-D", "16", "-c", "4", "-m", "4", url])

            try await Task.sleep(for: .seconds(1))
            let published = try ca.call("POST", "/v1/roots")
            #expect(published.0 == 201 && published.1.contains(#""state":"published""#), "\(published.1)")
            for sidecar in [backend, frontend] {
                #expect(
                    await sidecar.process.outputAppears("trust bundle updated", timeout: 30),
                    "\(sidecar.process.output.suffix(1500))")
            }
            // Activation is refused (409) until the root has been published for
            // the propagation time.
            var activated = try ca.call("POST", "/v1/roots/2/activate")
            for _ in 0..<100 where activated.0 == 409 {
                try await Task.sleep(for: .milliseconds(200))
                activated = try ca.call("POST", "/v1/roots/2/activate")
            }
            #expect(activated.0 == 200, "\(activated.1)")
            // The CA ledger's entry for a sidecar's current certificate (which
            // names the generation that issued it).
            @Sendable func ledgerEntry(_ service: String) throws -> String {
                let chain = mesh.scratch.file("\(service)-data/chain.pem")
                let serial =
                    try ChildProcess.run("/usr/bin/openssl", ["x509", "-in", chain, "-noout", "-serial"]).output
                    .split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }
                    ?? ""
                let entry = try ca.call("GET", "/v1/certificates/\(String(serial.drop { $0 == "0" }))")
                return entry.1
            }
            // Renewals every 3 to 3.6 s move both sides to generation 2.
            try await blocking {
                for service in ["backend", "frontend"] {
                    for _ in 0..<300 where !((try? ledgerEntry(service))?.contains(#""issuer_generation":2"#) ?? false)
                    {
                        Thread.sleep(forTimeInterval: 0.1)
                    }
                }
            }

            _ = await load.exited()
            let summary = load.output.split(separator: "\n").filter {
                $0.contains("requests:") || $0.contains("status codes")
            }
            #expect(load.output.contains("succeeded, 0 failed, 0 errored"), "\(summary)")
            #expect(load.output.contains(" 0 4xx, 0 5xx"), "\(summary)")
            for service in ["backend", "frontend"] {
                let entry = try ledgerEntry(service)
                #expect(entry.contains(#""issuer_generation":2"#), "\(service): \(entry)")
            }
            // A new mesh connection after the rotation handshakes: the frontend
            // restarted from its data directory (generation 2 certificate, both
            // roots kept) dials the backend afresh.
            frontend.process.stop()
            let again = try mesh.startSidecar(
                "frontend", app: 1,
                snapshot: mesh.scratch.file("frontend.json"), upstreams: ["backend"],
                identity: try Self.joining(mesh, ca, "frontend", token: nil, extra: Self.fastRenewal))
            let fresh = "http://127.0.0.1:\(again.upstreams["backend"]!)/fresh"
            #expect(try Command.curl(["-sS", "-o", "/dev/null", "-w", "%{http_code}", fresh]).output == "200")
        }
    }

    /// Static stability: with the registry, the CA and PostgreSQL all stopped,
    /// both sidecars restarted come back from their data directories (certificate,
    /// bundle, snapshot) and carry traffic; /ready says they are ready.
    @Test func withTheWholeControlPlaneGoneRestartedSidecarsStillServe() async throws {
        try await TemporaryPostgres.with { postgres in
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let registry = try mesh.startRegistry(postgres)
            let ca = try mesh.startAuthority(postgres)
            #expect(try registry.configurePair())
            func flags(_ service: String, _ extra: [String]) throws -> [String] {
                let credential = try registry.credentialFile(service, in: mesh)
                return try Self.joining(
                    mesh, ca, service, token: try ca.joinToken(for: MeshFixture.identity(service)),
                    extra: ["--registry", "http://127.0.0.1:\(registry.port)", "--registry-token-file", credential]
                        + extra)
            }
            let echo = try mesh.startEcho()
            // The backend keeps its inbound port across restarts: the frontend's
            // kept snapshot names it.
            let inbound = try TemporaryPostgres.freeLoopbackPort()
            let backendFlags = try flags(
                "backend",
                ["--register", "--instance-id", "b-1", "--health-interval", "1", "--inbound", "127.0.0.1:\(inbound)"])
            let backendKept = mesh.scratch.file("backend-kept.json")
            var backend = try mesh.startSidecar("backend", app: echo, snapshot: backendKept, identity: backendFlags)
            let frontendFlags = try flags("frontend", [])
            let frontendKept = mesh.scratch.file("frontend-kept.json")
            var frontend = try mesh.startSidecar(
                "frontend", app: 1, snapshot: frontendKept, upstreams: ["backend"], identity: frontendFlags)
            func status(_ sidecar: MeshFixture.Sidecar) throws -> String {
                try Command.curl([
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(sidecar.upstreams["backend"]!)/",
                ]).output
            }
            Command.eventually { (try? status(frontend)) == "200" }
            #expect(try status(frontend) == "200", "\(frontend.process.output)")

            // Everything the control plane is, gone.
            registry.process.stop()
            ca.process.stop()
            postgres.stop()
            backend.process.stop()
            frontend.process.stop()
            backend = try mesh.startSidecar("backend", app: echo, snapshot: backendKept, identity: backendFlags)
            frontend = try mesh.startSidecar(
                "frontend", app: 1, snapshot: frontendKept, upstreams: ["backend"], identity: frontendFlags)
            #expect(try status(frontend) == "200", "\(frontend.process.output)")
            for sidecar in [backend, frontend] {
                #expect(sidecar.process.output.contains("using the certificate kept in --data-dir"))
                let ready = try Command.curl(["-s", "http://127.0.0.1:\(sidecar.admin)/ready"]).output
                #expect(ready.hasPrefix("ready"), "\(ready)")
            }
        }
    }

    /// Trust bootstrapped from the root's fingerprint instead of a bundle file:
    /// the fingerprint as openssl prints it is enough to join; a wrong one is
    /// refused before anything is sent to the CA but the bundle request.
    @Test func joinsWithAPinnedRootFingerprintAndRefusesAWrongOne() async throws {
        try await TemporaryPostgres.with { postgres in
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let ca = try mesh.startAuthority(postgres)
            let printed = try ChildProcess.run(
                "/usr/bin/openssl", ["x509", "-in", ca.bundleFile, "-noout", "-fingerprint", "-sha256"]
            ).output.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(printed.lowercased().hasPrefix("sha256 fingerprint="), "\(printed)")
            // weft-ca logs the same fingerprint, for operators to copy.
            let hex =
                printed.split(separator: "=").last.map { $0.replacingOccurrences(of: ":", with: "").lowercased() } ?? ""
            #expect(ca.process.output.contains("sha256:\(hex)"), "\(ca.process.output)")

            let snapshot = try mesh.snapshot("web.json")
            func flags(_ name: String, _ fingerprint: String) throws -> [String] {
                [
                    "--ca", ca.url, "--ca-fingerprint", fingerprint, "--data-dir", mesh.scratch.file("\(name)-data"),
                    "--join-token-file",
                    try mesh.scratch.write("\(name).join", try ca.joinToken(for: MeshFixture.identity("web"))),
                ]
            }
            let joined = try mesh.startSidecar("web", app: 1, snapshot: snapshot, identity: try flags("good", printed))
            #expect(joined.process.output.contains("trusting the CA's root pinned by --ca-fingerprint"))
            #expect(joined.process.output.contains("joined the mesh with a join token"))
            let kept = try String(contentsOfFile: mesh.scratch.file("good-data/bundle.json"), encoding: .utf8)
            #expect(kept.contains("BEGIN CERTIFICATE"))

            let wrong = try ChildProcess.run(
                MeshFixture.sidecarBinary,
                [
                    "--service", "web", "--app", "127.0.0.1:1", "--inbound", "127.0.0.1:0", "--outbound-proxy", "off",
                    "--admin", "off", "--snapshot-file", snapshot,
                ] + (try flags("bad", "sha256:" + String(repeating: "0", count: 64))))
            #expect(wrong.status == 78, "\(wrong.output)")
            #expect(wrong.output.contains("holds no root with fingerprint sha256:000"), "\(wrong.output)")
            #expect(!FileManager.default.fileExists(atPath: mesh.scratch.file("bad-data/chain.pem")))
        }
    }

    /// The registry's mesh listener: sidecars that hold nothing but a join token
    /// each, the CA's address and the registry's, discover and register over
    /// mutual TLS; the certificate is the credential, and it speaks only for its
    /// own service.
    @Test func sidecarsUseTheRegistryOverMutualTLSWithTheirCertificatesAlone() async throws {
        try await TemporaryPostgres.with { postgres in
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let ca = try mesh.startAuthority(postgres)
            let registryToken = try mesh.scratch.write(
                "registry.join", try ca.joinToken(for: "spiffe://weft.local/ns/weft-system/sa/weft-registry"))
            let registry = try mesh.startRegistry(
                postgres,
                extra: [
                    "--mesh-listen", "127.0.0.1:0", "--ca", ca.url, "--ca-bundle", ca.bundleFile, "--join-token-file",
                    registryToken, "--data-dir", mesh.scratch.file("registry-data"),
                ])
            let meshPort = try #require(registry.meshPort, "\(registry.process.output)")
            #expect(try registry.configurePair())
            let overTLS = ["--registry", "https://127.0.0.1:\(meshPort)"]
            let echo = try mesh.startEcho()
            _ = try mesh.startSidecar(
                "backend", app: echo, snapshot: mesh.scratch.file("backend-kept.json"),
                identity: try Self.joining(
                    mesh, ca, "backend", token: try ca.joinToken(for: MeshFixture.identity("backend")),
                    extra: overTLS + ["--register", "--instance-id", "b-1", "--health-interval", "1"]))
            let frontend = try mesh.startSidecar(
                "frontend", app: 1, snapshot: mesh.scratch.file("frontend-kept.json"), upstreams: ["backend"],
                identity: try Self.joining(
                    mesh, ca, "frontend", token: try ca.joinToken(for: MeshFixture.identity("frontend")),
                    extra: overTLS))
            let url = "http://127.0.0.1:\(frontend.upstreams["backend"]!)/over-mtls"
            func status() -> String {
                (try? Command.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", url]).output) ?? ""
            }
            Command.eventually { status() == "200" }
            #expect(status() == "200", "\(frontend.process.output.suffix(1500))")
            #expect(try registry.call("GET", "/v1/instances/default/backend/b-1").0 == 200)

            // The frontend's certificate speaks for the frontend only.
            let data = mesh.scratch.file("frontend-data")
            func asFrontend(_ method: String, _ path: String, _ body: String? = nil) throws -> (Int32, String) {
                // -k: the registry's certificate names a SPIFFE ID, not 127.0.0.1,
                // and curl checks host names (the sidecars check the identity).
                var arguments = [
                    "-s", "-k", "-w", "\n%{http_code}", "--cert", data + "/chain.pem", "--key",
                    data + "/key.pem", "-X", method, "https://127.0.0.1:\(meshPort)\(path)",
                ]
                if let body { arguments += ["-H", "content-type: application/json", "--data-binary", body] }
                let result = try Command.curl(arguments)
                return (result.status, result.output)
            }
            let instance = #"{"id":"x","service":"SERVICE","address":"127.0.0.1","port":1}"#
            let other = try asFrontend(
                "PUT", "/v1/instances/default/backend/x", instance.replacingOccurrences(of: "SERVICE", with: "backend"))
            #expect(other.1.hasSuffix("403"), "\(other.1)")
            let own = try asFrontend(
                "PUT", "/v1/instances/default/frontend/x",
                instance.replacingOccurrences(of: "SERVICE", with: "frontend"))
            #expect(own.1.hasSuffix("200"), "\(own.1)")
            #expect(try asFrontend("DELETE", "/v1/instances/default/backend/b-1").1.hasSuffix("403"))
            #expect(try asFrontend("GET", "/v1/services").1.hasSuffix("403"), "admin calls need the admin token")
            // No certificate, no conversation.
            let anonymous = try Command.curl([
                "-sS", "-k", "-o", "/dev/null", "-w", "%{http_code}", "https://127.0.0.1:\(meshPort)/v1/services",
            ])
            #expect(anonymous.status != 0 && anonymous.output == "000", "\(anonymous)")
            #expect(
                try await blocking { try Command.tlsAlert(port: meshPort, alpn: "http/1.1") } == "certificate required",
                "the handshake, not the call, refuses")
        }
    }
}
