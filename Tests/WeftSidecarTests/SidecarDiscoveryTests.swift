import Foundation
import Testing
import WeftTestSupport

/// Sidecars configured by a real weft-registry (on a real PostgreSQL) through its
/// discovery API: first start from the registry, changes applied live, the last
/// good snapshot kept and served from when the registry is gone.
@Suite(.serialized) struct SidecarDiscoveryTests {
    @Test func sidecarsFollowTheRegistryAndKeepServingWhenItIsGone() async throws {
        try await TemporaryPostgres.with { postgres in
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let registry = try mesh.startRegistry(postgres)
            #expect(try registry.configurePair())
            func credential(_ service: String) throws -> String {
                let (status, body) = try registry.call("POST", "/v1/services/default/\(service)/credentials")
                let secret = (try? Command.object(body))?["secret"] as? String
                #expect(status == 201 && secret != nil, "\(status) \(body)")
                return try mesh.scratch.write("\(service).token", (secret ?? "") + "\n")
            }
            let registryFlags = { (service: String) throws -> [String] in
                ["--registry", "http://127.0.0.1:\(registry.port)", "--registry-token-file", try credential(service)]
            }

            // First starts: no snapshot kept yet, so each asks the registry.
            let echo = try mesh.startEcho()
            let backendFile = mesh.scratch.file("backend-kept.json")
            let backend = try mesh.startSidecar(
                "backend", app: echo, snapshot: backendFile, extra: try registryFlags("backend"))
            let instance =
                #"{"id":"b-1","service":"backend","address":"127.0.0.1","port":\#(backend.inbound),"ttl":"600s"}"#
            #expect(try registry.call("PUT", "/v1/instances/default/backend/b-1", instance).0 == 200)
            let frontendFile = mesh.scratch.file("frontend-kept.json")
            let frontend = try mesh.startSidecar(
                "frontend", app: 1, snapshot: frontendFile, upstreams: ["backend"], extra: try registryFlags("frontend")
            )
            let url = "http://127.0.0.1:\(frontend.upstreams["backend"]!)/found"
            func status() throws -> String {
                try Command.curl(["-o", "/dev/null", "-w", "%{http_code}", url]).output
            }
            Command.eventually { (try? status()) == "200" }
            #expect(try status() == "200", "\(frontend.process.output)")
            #expect(FileManager.default.fileExists(atPath: frontendFile), "the snapshot was not kept")

            // A change reaches the sidecar while it runs: the endpoint goes, and comes back.
            #expect(try registry.call("DELETE", "/v1/instances/default/backend/b-1").0 == 204)
            Command.eventually { (try? status()) == "503" }
            #expect(try status() == "503")
            #expect(try registry.call("PUT", "/v1/instances/default/backend/b-1", instance).0 == 200)
            Command.eventually { (try? status()) == "200" }
            #expect(try status() == "200")

            // The registry goes away: traffic flows on the last good snapshot, and a
            // restart during the outage starts from the kept one.
            registry.process.stop()
            #expect(try status() == "200")
            frontend.process.stop()
            let restarted = try mesh.startSidecar(
                "frontend", app: 1, snapshot: frontendFile, upstreams: ["backend"],
                credentials: try mesh.credentials(for: MeshFixture.identity("frontend"), name: "frontend-2"),
                extra: [
                    "--registry", "http://127.0.0.1:\(registry.port)", "--registry-token-file",
                    mesh.scratch.file("frontend.token"),
                ])
            let again = "http://127.0.0.1:\(restarted.upstreams["backend"]!)/after-restart"
            #expect(try Command.curl(["-o", "/dev/null", "-w", "%{http_code}", again]).output == "200")
            #expect(restarted.process.output.contains("discovery failed"), "\(restarted.process.output)")
        }
    }

    @Test func aFirstStartTheRegistryRefusesExitsWithTheReason() async throws {
        try await TemporaryPostgres.with { postgres in
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let registry = try mesh.startRegistry(postgres)
            let wrong = try mesh.scratch.write("wrong.token", "wsc_not-a-real-credential\n")
            let material = try mesh.credentials(for: MeshFixture.identity("frontend"))
            let run = try ChildProcess.run(
                MeshFixture.sidecarBinary,
                [
                    "--service", "frontend", "--app", "127.0.0.1:1", "--inbound", "127.0.0.1:0", "--outbound-proxy",
                    "off",
                    "--admin", "off", "--certificate", material.certificate, "--key", material.key, "--trust-bundle",
                    mesh.bundle, "--snapshot-file", mesh.scratch.file("none.json"), "--registry",
                    "http://127.0.0.1:\(registry.port)", "--registry-token-file", wrong,
                ])
            #expect(run.status == 78, "exit \(run.status): \(run.output)")
            #expect(run.output.contains("the registry answered 401"), "\(run.output)")
        }
    }
}

extension SidecarDiscoveryTests {
    static let fakeRegistry = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Peers/fake_registry.py").path

    /// A registry that answers badly: a snapshot that does not validate, an answer
    /// larger than any snapshot may be, answers that never block. The sidecar keeps
    /// serving on its kept snapshot, says why in its log, and does not hammer the
    /// registry.
    @Test func aMisbehavingRegistryNeverTakesTheSidecarDownOrInATightLoop() async throws {
        try await blocking {
            for (mode, logged) in [
                ("invalid", "the registry's snapshot is invalid, refused"), ("huge", "larger than"), ("same", nil),
            ] {
                let mesh = try MeshFixture()
                defer { mesh.stop() }
                let echo = try mesh.startEcho()
                let backendSnapshot = try mesh.snapshot(
                    "backend.json", intentions: [(MeshFixture.identity("frontend"), "backend", "allow")])
                let backend = try mesh.startSidecar("backend", app: echo, snapshot: backendSnapshot)
                // The kept snapshot the frontend starts from (version 1).
                let kept = try mesh.snapshot("frontend.json", upstreams: [("backend", "http", [backend.inbound])])
                let registry = try mesh.start("/usr/bin/python3", [Self.fakeRegistry, mode], ready: "listening")
                guard let port = MeshFixture.port(in: registry.output, after: "listening ") else {
                    Issue.record("no port: \(registry.output)")
                    return
                }
                let token = try mesh.scratch.write("token", "wsc_test\n")
                let frontend = try mesh.startSidecar(
                    "frontend", app: 1, snapshot: kept, upstreams: ["backend"],
                    extra: ["--registry", "http://127.0.0.1:\(port)", "--registry-token-file", token])
                // The first query, and for a bad answer the line saying why, before
                // the window in which the queries are counted.
                Command.eventually(timeout: 30) {
                    registry.output.contains("query") && logged.map { frontend.process.output.contains($0) } ?? true
                }
                Thread.sleep(forTimeInterval: 3)
                let status = try Command.curl([
                    "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(frontend.upstreams["backend"]!)/",
                ]).output
                #expect(status == "200", "\(mode): \(frontend.process.output.suffix(800))")
                if let logged {
                    #expect(frontend.process.output.contains(logged), "\(mode): \(frontend.process.output.suffix(800))")
                }
                // Backoff after failures (0.5 s, 1 s, 2 s…) and at most one query a
                // second for answers that do not block: a handful in three seconds.
                let queries = registry.output.components(separatedBy: "query").count - 1
                #expect(queries >= 1 && queries <= 6, "\(mode): \(queries) queries in 3 s")
                #expect(
                    (try? String(contentsOfFile: kept, encoding: .utf8))?.contains("\"version\": 7") != true,
                    "\(mode): an invalid snapshot was kept")
                // Whether the registry is heard from, apart from the snapshot's
                // own age: answers that say "nothing changed" count, refused
                // ones do not.
                let metrics = try Command.curl(["http://127.0.0.1:\(frontend.admin)/metrics"]).output
                let contact = metrics.firstMatch(of: /weft_sidecar_discovery_last_contact_seconds (\d+)/)
                    .flatMap { Int($0.1) }
                if logged == nil {
                    #expect(contact.map { $0 <= 5 } == true, "\(mode): last contact \(String(describing: contact))")
                } else {
                    #expect(contact == nil, "\(mode): a refused answer counted as contact")
                }
            }
        }
    }

    /// SIGTERM to one of two registered backends while h2load drives traffic
    /// through the frontend: the instance is reported critical, callers move to
    /// the other within the drain delay, in-flight requests finish, and not one
    /// request fails.
    @Test func aRegisteredBackendLeavesUnderLoadWithoutAFailedRequest() async throws {
        try await TemporaryPostgres.with { postgres in
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let registry = try mesh.startRegistry(postgres)
            #expect(try registry.configurePair())
            func credential(_ service: String) throws -> String { try registry.credentialFile(service, in: mesh) }
            let backendCredential = try credential("backend")
            var backends: [MeshFixture.Sidecar] = []
            for id in ["b-1", "b-2"] {
                backends.append(
                    try mesh.startSidecar(
                        "backend", app: try mesh.startEcho(name: id), snapshot: mesh.scratch.file("\(id)-kept.json"),
                        extra: [
                            "--registry", "http://127.0.0.1:\(registry.port)", "--registry-token-file",
                            backendCredential,
                            "--register", "--instance-id", id, "--health-interval", "1",
                        ]))
            }
            let frontend = try mesh.startSidecar(
                "frontend", app: 1, snapshot: mesh.scratch.file("frontend-kept.json"), upstreams: ["backend"],
                extra: [
                    "--registry", "http://127.0.0.1:\(registry.port)", "--registry-token-file",
                    try credential("frontend"),
                ])
            let url = "http://127.0.0.1:\(frontend.upstreams["backend"]!)/"
            // Both instances in the frontend's view before the load starts.
            var seen = Set<String>()
            Command.eventually {
                let headers = (try? Command.curl(["-s", "-D", "-", "-o", "/dev/null", url]).output) ?? ""
                if let name = headers.firstMatch(of: /x-echo-name: (b-\d)/) { seen.insert(String(name.1)) }
                return seen.count == 2
            }
            #expect(seen.count == 2, "\(seen)")

            let load = try ChildProcess("/usr/bin/h2load", ["-D", "8", "-c", "4", "-m", "4", url])
            try await Task.sleep(for: .seconds(2))
            backends[0].process.signal(SIGTERM)
            #expect(ChildProcess.succeeded(await backends[0].process.exited()), "\(backends[0].process.output)")
            _ = await load.exited()
            let summary = load.output.split(separator: "\n").filter {
                $0.contains("requests:") || $0.contains("status codes")
            }
            #expect(load.output.contains("succeeded, 0 failed, 0 errored"), "\(summary)")
            #expect(load.output.contains(" 0 4xx, 0 5xx"), "\(summary)")
            #expect(try registry.call("GET", "/v1/instances/default/backend/b-1").0 == 404)
            #expect(try registry.call("GET", "/v1/instances/default/backend/b-2").0 == 200)
        }
    }

    /// `--register`: the sidecar registers its application's instance itself,
    /// reports the application's health from its checks, is registered again when
    /// the registry forgets it, and leaves on SIGTERM.
    @Test func aSidecarRegistersItsApplicationAndLeavesOnShutdown() async throws {
        try await TemporaryPostgres.with { postgres in
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let registry = try mesh.startRegistry(postgres)
            #expect(try registry.configurePair())
            func credential(_ service: String) throws -> String { try registry.credentialFile(service, in: mesh) }
            let echo = try ChildProcess(MeshFixture.echoBinary, ["--listen", "127.0.0.1:0", "--threads", "1"])
            defer { echo.stop() }
            #expect(echo.waitForOutput("listening"))
            let echoPort = try #require(MeshFixture.port(in: echo.output, after: "listening on 127.0.0.1:"))
            let backend = try mesh.startSidecar(
                "backend", app: echoPort, snapshot: mesh.scratch.file("backend-kept.json"),
                extra: [
                    "--registry", "http://127.0.0.1:\(registry.port)", "--registry-token-file",
                    try credential("backend"),
                    "--register", "--instance-id", "b-1", "--ttl", "5", "--health-interval", "1", "--label",
                    "version=v2",
                    "--zone", "z1",
                ])
            let path = "/v1/instances/default/backend/b-1"
            Command.eventually { (try? registry.call("GET", path).0) == 200 }
            let registered = try registry.call("GET", path)
            #expect(registered.0 == 200, "\(backend.process.output)")
            let object = try Command.object(registered.1)
            #expect(object["port"] as? Int == backend.inbound && object["address"] as? String == "127.0.0.1")
            #expect((object["labels"] as? [String: String])?["version"] == "v2" && object["zone"] as? String == "z1")
            #expect(object["health"] as? String == "passing", "\(registered.1)")

            // The frontend finds it through discovery, with nobody registering it by hand.
            let frontend = try mesh.startSidecar(
                "frontend", app: 1, snapshot: mesh.scratch.file("frontend-kept.json"), upstreams: ["backend"],
                extra: [
                    "--registry", "http://127.0.0.1:\(registry.port)", "--registry-token-file",
                    try credential("frontend"),
                ])
            let url = "http://127.0.0.1:\(frontend.upstreams["backend"]!)/registered"
            func status() throws -> String { try Command.curl(["-o", "/dev/null", "-w", "%{http_code}", url]).output }
            Command.eventually { (try? status()) == "200" }
            #expect(try status() == "200")

            // Removed behind its back (an operator, a restored database): it
            // registers again at its next heartbeat.
            #expect(try registry.call("DELETE", path).0 == 204)
            Command.eventually { (try? registry.call("GET", path).0) == 200 }
            #expect(try registry.call("GET", path).0 == 200)
            #expect(backend.process.output.contains("registering again"), "\(backend.process.output)")

            // The application dies: three failed checks, and the instance is
            // critical, out of the frontend's endpoint set (503, no endpoint).
            echo.stop()
            Command.eventually(timeout: 15) {
                ((try? Command.object(try registry.call("GET", path).1))?["health"] as? String) == "critical"
            }
            #expect(((try? Command.object(try registry.call("GET", path).1))?["health"] as? String) == "critical")
            Command.eventually { (try? status()) == "503" }
            #expect(try status() == "503")

            // SIGTERM: the instance leaves the registry.
            backend.process.signal(SIGTERM)
            #expect(ChildProcess.succeeded(await backend.process.exited()), "\(backend.process.output)")
            #expect(try registry.call("GET", path).0 == 404)
            #expect(backend.process.output.contains("instance b-1 deregistered"))
        }
    }
}
