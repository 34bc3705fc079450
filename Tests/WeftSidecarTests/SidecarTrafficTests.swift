import Foundation
import NIOConcurrencyHelpers
import Testing
import WeftTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Real clients through the sidecar pair: gRPC (grpcio, both ends), h2load, and
/// an upload to an application that never reads.
@Suite(.serialized) struct SidecarTrafficTests {
    /// grpcio from the tools environment `scripts/install-deps` prepares.
    static let python = "/opt/weft-tools/venv/bin/python"
    static let grpcPeer = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Peers/grpc_peer.py").path

    @Test func grpcUnaryStreamingStatusTrailersAndDeadlineCrossTheMesh() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let app = try mesh.startPeer(Self.python, [Self.grpcPeer, "server", "0"])
            let (frontend, _) = try mesh.startPair(app: app, appProtocol: "grpc")

            let client = try Command.run(Self.python, [Self.grpcPeer, "client", "\(frontend.upstreams["backend"]!)"])
            #expect(client.status == 0, "\(client.errors)")
            let report = try Command.object(client.output)
            #expect(report["unary"] as? String == "echo:hello")
            #expect(report["code"] as? String == "OK")
            #expect(report["trailer"] as? String == "kept", "trailing metadata lost: \(report)")
            #expect(report["caller"] as? String == MeshFixture.identity("frontend"))
            // The client's 5 s deadline reached the server as grpc-timeout, less the trip.
            let deadline = Int(report["deadline_ms"] as? String ?? "") ?? -1
            #expect(deadline > 3_000 && deadline <= 5_000, "deadline at the server: \(report)")
            #expect(report["stream_intact"] as? Bool == true, "stream: \(report["stream"] ?? "none")")
            #expect(report["fail"] as? String == "NOT_FOUND")
            #expect(report["fail_details"] as? String == "no such thing")
        }
    }

    @Test func h2loadDrivesThousandsOfRequestsThroughThePair() async throws {
        try await blocking {
            try SidecarMeshTests.withMesh { mesh, frontend, backend in
                let port = frontend.upstreams["backend"]!
                let body = try mesh.scratch.write("body", String(repeating: "x", count: 1024))
                for (protocolFlags, count) in [([String](), 4000), (["--h1"], 1000)] {
                    let run = try Command.run(
                        "/usr/bin/h2load",
                        protocolFlags + [
                            "-n", "\(count)", "-c", "4", "-m", "8", "-d", body, "http://127.0.0.1:\(port)/load",
                        ])
                    #expect(
                        run.output.contains("\(count) succeeded, 0 failed, 0 errored"),
                        "\(protocolFlags): \(run.output.split(separator: "\n").filter { $0.contains("requests:") })")
                    #expect(run.output.contains("status codes: \(count) 2xx"), "\(protocolFlags)")
                }
                // 5,000 requests, at most 32 at a time: connections are reused, not
                // dialled per request (the application pool holds at most 64, the mesh
                // pool 4).
                func dials(_ sidecar: MeshFixture.Sidecar, _ peer: String) throws -> Int {
                    let metrics = try Command.curl(["http://127.0.0.1:\(sidecar.admin)/metrics"]).output
                    let line = metrics.split(separator: "\n").first {
                        $0.hasPrefix("weft_sidecar_connections_opened_total{peer=\"\(peer)\"}")
                    }
                    return Int(line?.split(separator: " ").last ?? "") ?? -1
                }
                let application = try dials(backend, "application")
                let meshConnections = try dials(frontend, "mesh")
                #expect(application >= 1 && application <= 64, "backend dialled the app \(application) times")
                #expect(
                    meshConnections >= 1 && meshConnections <= 4, "frontend dialled the mesh \(meshConnections) times")
            }
        }
    }

    /// An application that accepts connections and never reads: the kernel's
    /// backlog completes the handshake, nobody calls accept or recv.
    final class DeafListener {
        let fd: Int32
        let port: Int

        init() throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            self.fd = fd
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            port = Int(UInt16(bigEndian: address.sin_port))
        }

        deinit { close(fd) }
    }

    static func residentKiB(_ pid: Int32, _ field: String = "VmHWM") -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }

    @Test func aLargeUploadToAnAppThatNeverReadsIsHeldAtTheWindowNotInTheProxy() async throws {
        try await blocking {
            let mesh = try MeshFixture()
            defer { mesh.stop() }
            let app = try DeafListener()
            let (frontend, backend) = try mesh.startPair(app: app.port)
            let upload = mesh.scratch.file("upload")
            let size = 256 << 20
            FileManager.default.createFile(atPath: upload, contents: Data(count: size))
            let before = (Self.residentKiB(frontend.process.pid), Self.residentKiB(backend.process.pid))

            for flag in ["--http1.1", "--http2-prior-knowledge"] {
                // curl streams the file and gives up after four seconds of being held.
                let result = try Command.curl([
                    flag, "--max-time", "4", "-T", upload, "-w", "%{size_upload}", "-o", "/dev/null",
                    "http://127.0.0.1:\(frontend.upstreams["backend"]!)/upload",
                ])
                #expect(
                    result.status == 28, "\(flag): curl should have been held, not \(result.status) \(result.errors)")
                let uploaded = Int(Double(result.output) ?? -1)
                // Kernel socket buffers on four loopback sockets, the TLS record and one
                // HTTP/2 window: tens of MiB at most, nowhere near the 256 MiB offered.
                #expect(uploaded > 0 && uploaded < 64 << 20, "\(flag): \(uploaded) bytes left curl")
            }
            let after = (Self.residentKiB(frontend.process.pid), Self.residentKiB(backend.process.pid))
            #expect(after.0 - before.0 < 16 * 1024, "frontend peak RSS grew \(before.0) → \(after.0) KiB")
            #expect(after.1 - before.1 < 16 * 1024, "backend peak RSS grew \(before.1) → \(after.1) KiB")
        }
    }
}

extension SidecarTrafficTests {
    /// The other direction: the application echoes a large upload as it reads it
    /// (weft-echo's streaming mode), and the caller reads the echo slowly. The
    /// slow reader holds the application's writes, so the application stops
    /// reading, so the caller's upload stalls: nothing piles up in the sidecars.
    @Test func aSlowReaderOfTheResponseSlowsTheUploadEndToEnd() async throws {
        try await blocking {
            try SidecarMeshTests.withMesh { _, frontend, backend in
                let size = 256 << 20
                let fd = try connectedSocket(port: frontend.upstreams["backend"]!, receiveTimeout: 5)
                defer { close(fd) }
                let before = (Self.residentKiB(frontend.process.pid), Self.residentKiB(backend.process.pid))
                let head = "POST /slow HTTP/1.1\r\nHost: backend\r\nx-echo-stream: 1\r\nContent-Length: \(size)\r\n\r\n"
                let sent = NIOLockedValueBox(0)
                let sender = Thread {
                    sendAll(fd, Array(head.utf8))
                    let chunk = [UInt8](repeating: 0x61, count: 1 << 16)
                    for _ in 0..<(size >> 16) {
                        let count = chunk.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                        if count <= 0 { return }
                        sent.withLockedValue { $0 += count }
                    }
                }
                sender.start()
                // Read 16 KiB every 10 ms (about 1.6 MB/s) for three seconds.
                var received = 0
                var buffer = [UInt8](repeating: 0, count: 16 << 10)
                let deadline = Date().addingTimeInterval(3)
                while Date() < deadline {
                    let count = recv(fd, &buffer, buffer.count, 0)
                    if count <= 0 { break }
                    received += count
                    usleep(10_000)
                }
                let pushed = sent.withLockedValue { $0 }
                let after = (Self.residentKiB(frontend.process.pid), Self.residentKiB(backend.process.pid))
                shutdown(fd, Int32(SHUT_RDWR))
                #expect(received > 0, "nothing came back")
                // What the client could push is what it read plus the windows and
                // socket buffers on the way (tens of MiB at most), not the 256 MiB.
                #expect(pushed < received + (64 << 20), "sent \(pushed) bytes while reading \(received)")
                #expect(after.0 - before.0 < 16 * 1024, "frontend peak RSS grew \(before.0) → \(after.0) KiB")
                #expect(after.1 - before.1 < 16 * 1024, "backend peak RSS grew \(before.1) → \(after.1) KiB")
            }
        }
    }
}
