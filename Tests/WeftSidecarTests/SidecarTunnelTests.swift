import Foundation
import Testing
import WeftTestSupport

/// `CONNECT host:port` on the outbound proxy port: a TCP tunnel carried as an
/// HTTP/2 CONNECT stream over the mesh, which the destination's sidecar ends at
/// its own application and nowhere else.
@Suite(.serialized) struct SidecarTunnelTests {
    static let tcpEcho = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Peers/tcp_echo.py").path

    @Test func curlTunnelsHTTPThroughTheProxyPort() async throws {
        try await blocking {
            try SidecarMeshTests.withMesh { _, frontend, backend in
                let result = try Command.curl([
                    "--proxytunnel", "--proxy", "http://127.0.0.1:\(frontend.proxy)", "http://backend:8080/inside?x=1",
                ])
                #expect(result.status == 0, "\(result.errors)\n\(frontend.process.output)\n\(backend.process.output)")
                #expect((try? Command.object(result.output))?["path"] as? String == "/inside?x=1", "\(result.output)")
            }
        }
    }

    @Test func aTCPServiceIsReachedThroughTunnelsAndItsUpstreamPortOnly() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let app = try mesh.startPeer("/usr/bin/python3", [Self.tcpEcho, "0"])
            let (frontend, backend) = try mesh.startPair(app: app, appProtocol: "tcp")
            _ = backend

            let payload = Command.randomBytes(1 << 20)
            // The named port is not where the tunnel goes: backend's sidecar dials its app.
            let (answer, echoed) = try RawHTTP.tunnel(port: frontend.proxy, authority: "backend:1", payload: payload)
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer)")
            #expect(
                echoed.count == payload.count && echoed == payload,
                "\(echoed.count) of \(payload.count) bytes came back")

            // The upstream's own port carries raw TCP (no CONNECT needed).
            let raw = Command.randomBytes(1 << 20)
            let back = try RawHTTP.echo(port: frontend.upstreams["backend"]!, payload: raw)
            #expect(
                back.count == raw.count && back == raw,
                "\(back.count) of \(raw.count) bytes came back raw\n\(frontend.process.output.suffix(1500))")

            // HTTP to a TCP service is refused, and says how to reach it.
            let http = try Command.curl(["-i", "--proxy", "http://127.0.0.1:\(frontend.proxy)", "http://backend/"])
            #expect(http.output.hasPrefix("HTTP/1.1 400"), "\(http.output)")
            #expect(http.output.contains("CONNECT tunnel"), "\(http.output)")
        }
    }

    @Test func refusedTunnelsAreAnsweredWithTheirReason() async throws {
        try await blocking {
            // backend allows nobody; frontend knows no service called "nowhere".
            try SidecarMeshTests.withMesh(intentions: []) { _, frontend, _ in
                let denied = try RawHTTP.tunnel(port: frontend.proxy, authority: "backend:8080", payload: [])
                #expect(denied.answer.hasPrefix("HTTP/1.1 403"), "\(denied.answer)")
                #expect(denied.answer.lowercased().contains("x-weft-error: denied"), "\(denied.answer)")
                let unknown = try RawHTTP.tunnel(port: frontend.proxy, authority: "nowhere:80", payload: [])
                #expect(unknown.answer.hasPrefix("HTTP/1.1 404"), "\(unknown.answer)")
                #expect(unknown.answer.lowercased().contains("x-weft-error: unknown-upstream"), "\(unknown.answer)")
            }
        }
    }
}
