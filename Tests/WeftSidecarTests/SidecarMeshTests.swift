import Foundation
import Testing
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
        let backendSnapshot = try mesh.snapshot(
            "backend.json",
            intentions: intentions ?? [(MeshFixture.identity("frontend"), "backend", "allow")])
        let backend = try mesh.startSidecar(
            "backend", app: echo, appProtocol: backendProtocol, snapshot: backendSnapshot)
        let frontendSnapshot = try mesh.snapshot(
            "frontend.json", upstreams: [("backend", backendProtocol, [backend.inbound])])
        let frontend = try mesh.startSidecar(
            "frontend", app: 1, snapshot: frontendSnapshot, upstreams: ["backend"])
        return try body(mesh, frontend, backend)
    }

    static func curl(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        try Command.curl(arguments)
    }

    @Test func aRequestCrossesTheMeshOverHTTP1AndH2cWithTheCallersIdentity() throws {
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
