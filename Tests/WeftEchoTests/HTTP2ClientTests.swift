import Foundation
import NIOCore
import NIOPosix
import Testing
import WeftEcho
import WeftHTTP2
import WeftTLS
import WeftTestSupport

/// The client side of HTTP2ConnectionHandler against real servers: nghttpd (the
/// nghttp2 project's reference server) and weft-echo.
@Suite(.serialized) struct HTTP2ClientTests {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// Runs nghttpd on a free port serving `htdocs`, over TLS when given a key and certificate.
    static func withNghttpd<T>(
        htdocs: String, tls: (key: String, certificate: String)? = nil, _ body: (Int) throws -> T
    ) throws -> T {
        let port = try TemporaryPostgres.freeLoopbackPort()
        var arguments = ["-a", "127.0.0.1", "-d", htdocs]
        if let tls {
            arguments += [String(port), tls.key, tls.certificate]
        } else {
            arguments += ["--no-tls", String(port)]
        }
        let server = try ChildProcess("/usr/sbin/nghttpd", arguments)
        defer { server.stop() }
        for _ in 0..<100 {
            if (try? ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).wait())?.close() != nil {
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return try body(port)
    }

    static func htdocs() throws -> (path: String, big: [UInt8]) {
        let path = NSTemporaryDirectory() + "/weft-htdocs-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try "hello from nghttpd\n".write(toFile: path + "/index.html", atomically: true, encoding: .utf8)
        let big = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try Data(big).write(to: URL(fileURLWithPath: path + "/big.bin"))
        return (path, big)
    }

    @Test func fetchesFromNghttpdOverH2c() async throws {
        try await blocking {
            let (htdocs, big) = try Self.htdocs()
            defer { try? FileManager.default.removeItem(atPath: htdocs) }
            try Self.withNghttpd(htdocs: htdocs) { port in
                let (channel, handler) = try HTTP2TestClient.connect(port: port)
                defer { try? channel.close().wait() }
                let small = try HTTP2TestClient.request(handler, on: channel, path: "/index.html")
                #expect(small.status == "200")
                #expect(String(decoding: small.body, as: UTF8.self) == "hello from nghttpd\n")
                // Larger than every window: arrives whole because the client consumes.
                let large = try HTTP2TestClient.request(handler, on: channel, path: "/big.bin")
                #expect(large.status == "200" && large.body == big)
                #expect(try HTTP2TestClient.request(handler, on: channel, path: "/missing").status == "404")
            }
        }
    }

    @Test func fetchesFromNghttpdOverTLSWithALPN() async throws {
        try await blocking {
            let (htdocs, _) = try Self.htdocs()
            defer { try? FileManager.default.removeItem(atPath: htdocs) }
            let key = htdocs + "/../weft-nghttpd-key-\(UUID().uuidString).pem"
            let certificate = htdocs + "/../weft-nghttpd-cert-\(UUID().uuidString).pem"
            defer {
                try? FileManager.default.removeItem(atPath: key)
                try? FileManager.default.removeItem(atPath: certificate)
            }
            let made = try Command.run(
                "/usr/bin/openssl",
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                    key,
                    "-out",
                    certificate, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                ])
            #expect(made.status == 0)
            let context = try TLSContext(
                TLSConfiguration(
                    role: .client,
                    trustRoots: try Certificate.chain(pem: String(contentsOfFile: certificate, encoding: .utf8)),
                    applicationProtocols: ["h2"]))
            try Self.withNghttpd(htdocs: htdocs, tls: (key, certificate)) { port in
                let (channel, handler) = try HTTP2TestClient.connect(port: port, tls: context)
                defer { try? channel.close().wait() }
                let response = try HTTP2TestClient.request(handler, on: channel, path: "/index.html", scheme: "https")
                #expect(response.status == "200")
                #expect(String(decoding: response.body, as: UTF8.self) == "hello from nghttpd\n")
            }
        }
    }

    @Test func sendsBodiesAndTrailersToWeftEcho() async throws {
        try await blocking {
            let server = try EchoServer.start(EchoServer.Configuration(port: 0), group: Self.group)
            defer { try? server.close() }
            let (channel, handler) = try HTTP2TestClient.connect(port: server.port)
            defer { try? channel.close().wait() }
            let response = try HTTP2TestClient.request(
                handler, on: channel, method: "POST", path: "/grpc-like", body: "payload",
                trailers: [HTTP2Header("x-checksum", "abc")])
            #expect(response.status == "200")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
            #expect(report["body"] as? String == "payload")
            #expect(report["trailers"] as? [[String]] == [["x-checksum", "abc"]])
            #expect(response.closedWith == .noError)
        }
    }
}
