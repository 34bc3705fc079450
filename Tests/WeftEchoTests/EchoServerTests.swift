import Foundation
import NIOCore
import NIOPosix
import Testing
import WeftEcho
import WeftTLS
import WeftTestSupport

/// weft-echo against real clients: curl, h2load, and certificates made by the
/// openssl tool.
@Suite(.serialized) struct EchoServerTests {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)

    static func withServer<T>(_ configuration: EchoServer.Configuration = .init(port: 0), _ body: (Int) throws -> T)
        throws -> T
    {
        let server = try EchoServer.start(configuration, group: group)
        defer { try? server.close() }
        return try body(server.port)
    }

    @Test func servesH2cAndHTTP1OnOnePort() async throws {
        try await blocking {
            try Self.withServer { port in
                let h2 = try Command.curl([
                    "--http2-prior-knowledge", "-d", "x=1", "-H", "x-firmware-version: 2.1.0",
                    "http://127.0.0.1:\(port)/hello?q=1",
                ])
                #expect(h2.status == 0, "\(h2.errors)")
                let report = try Command.object(h2.output)
                #expect(report["protocol"] as? String == "h2")
                #expect(report["method"] as? String == "POST")
                #expect(report["path"] as? String == "/hello?q=1")
                #expect(report["body"] as? String == "x=1")
                #expect((report["headers"] as? [[String]])?.contains(["x-firmware-version", "2.1.0"]) == true)

                let h1 = try Command.curl(["--http1.1", "http://127.0.0.1:\(port)/h1"])
                #expect(try Command.object(h1.output)["protocol"] as? String == "http/1.1")
            }
        }
    }

    @Test func streamsLargeBodiesBackIntactOnBothProtocols() async throws {
        try await blocking {
            let scratch = try Scratch()
            defer { scratch.cleanup() }
            var bytes = [UInt8](repeating: 0, count: 3 << 20)
            var generator = SystemRandomNumberGenerator()
            for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
            try Data(bytes).write(to: URL(fileURLWithPath: scratch.file("in.bin")))
            try Self.withServer { port in
                for (flag, name) in [("--http2-prior-knowledge", "h2.bin"), ("--http1.1", "h1.bin")] {
                    let result = try Command.curl([
                        flag, "-H", "x-echo-stream: 1", "--data-binary", "@" + scratch.file("in.bin"), "-o",
                        scratch.file(name),
                        "http://127.0.0.1:\(port)/stream",
                    ])
                    #expect(result.status == 0, "\(result.errors)")
                    #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.file(name))) == Data(bytes), "\(flag)")
                }
                // Report mode refuses bodies past 1 MiB, on both protocols.
                for flag in ["--http2-prior-knowledge", "--http1.1"] {
                    let result = try Command.curl([
                        flag, "-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@" + scratch.file("in.bin"),
                        "http://127.0.0.1:\(port)/report",
                    ])
                    #expect(result.output == "413", "\(flag): \(result.output) \(result.errors)")
                }
            }
        }
    }

    @Test func survivesH2loadWithManyConcurrentStreams() async throws {
        try await blocking {
            try Self.withServer { port in
                let result = try Command.run(
                    "/usr/bin/h2load", ["-n", "2000", "-c", "4", "-m", "20", "http://127.0.0.1:\(port)/load"])
                #expect(result.output.contains("2000 succeeded, 0 failed, 0 errored"), "\(result.output)")
            }
        }
    }

    /// A server certificate the clients can verify (IP SAN 127.0.0.1), made by openssl.
    static func serverCertificate(in scratch: Scratch) throws -> (certificate: String, key: String) {
        let certificate = scratch.file("server.pem")
        let key = scratch.file("server.key")
        let made = try Command.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                "-out", certificate, "-days", "1", "-subj", "/CN=localhost", "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ])
        #expect(made.status == 0, "\(made.errors)")
        return (certificate, key)
    }

    static func tlsConfiguration(certificate: String, key: String, clientCA: [Certificate] = []) throws
        -> TLSConfiguration
    {
        TLSConfiguration(
            role: .server,
            certificateChain: try Certificate.chain(pem: String(contentsOfFile: certificate, encoding: .utf8)),
            privateKey: try PrivateKey(pem: String(contentsOfFile: key, encoding: .utf8)), trustRoots: clientCA,
            requirePeerCertificate: !clientCA.isEmpty, applicationProtocols: ["h2", "http/1.1"], minimumVersion: .tls12)
    }

    @Test func servesTLSWithALPNChoosingTheProtocol() async throws {
        try await blocking {
            let scratch = try Scratch()
            defer { scratch.cleanup() }
            let (certificate, key) = try Self.serverCertificate(in: scratch)
            let configuration = EchoServer.Configuration(
                port: 0, tls: try Self.tlsConfiguration(certificate: certificate, key: key))
            try Self.withServer(configuration) { port in
                let h2 = try Command.curl(["--http2", "--cacert", certificate, "https://127.0.0.1:\(port)/tls"])
                #expect(h2.status == 0, "\(h2.errors)")
                #expect(try Command.object(h2.output)["protocol"] as? String == "h2")
                let h1 = try Command.curl(["--http1.1", "--cacert", certificate, "https://127.0.0.1:\(port)/tls"])
                #expect(try Command.object(h1.output)["protocol"] as? String == "http/1.1")
                // A client that does not trust the server's certificate stops.
                let distrustful = try Command.curl(["--http2", "https://127.0.0.1:\(port)/tls"])
                #expect(distrustful.status == 60, "\(distrustful.status): \(distrustful.errors)")
                #expect(distrustful.errors.contains("self-signed certificate"), "\(distrustful.errors)")
            }
        }
    }

    @Test func requiresAndReportsClientCertificatesWithAClientCA() async throws {
        try await blocking {
            let scratch = try Scratch()
            defer { scratch.cleanup() }
            let (certificate, key) = try Self.serverCertificate(in: scratch)
            let now = Int64(Date().timeIntervalSince1970)
            let root = try CertificateIssuer.selfSignedRoot(
                key: try PrivateKey.generateP256(), commonName: "Mesh Root", notBefore: now - 60, notAfter: now + 3600)
            let clientKey = try PrivateKey.generateP256()
            let identity = "spiffe://weft.local/ns/default/sa/web"
            let client = try root.issueLeaf(for: clientKey, uri: identity, notBefore: now - 60, notAfter: now + 3600)
            try client.pemString().write(toFile: scratch.file("client.pem"), atomically: true, encoding: .utf8)
            try clientKey.pkcs8PEM().write(toFile: scratch.file("client.key"), atomically: true, encoding: .utf8)

            let configuration = EchoServer.Configuration(
                port: 0,
                tls: try Self.tlsConfiguration(certificate: certificate, key: key, clientCA: [root.certificate]))
            try Self.withServer(configuration) { port in
                let authenticated = try Command.curl([
                    "--http2", "--cacert", certificate, "--cert", scratch.file("client.pem"), "--key",
                    scratch.file("client.key"),
                    "https://127.0.0.1:\(port)/whoami",
                ])
                #expect(authenticated.status == 0, "\(authenticated.errors)")
                #expect(try Command.object(authenticated.output)["peer_identity"] as? String == identity)
                let anonymous = try Command.curl([
                    "--http2", "--cacert", certificate, "https://127.0.0.1:\(port)/whoami",
                ])
                #expect(anonymous.status != 0)
                #expect(try Command.tlsAlert(port: port) == "certificate required")
                #expect(!anonymous.output.contains("whoami"))
            }
        }
    }
}

extension EchoServerTests {
    @Test func reportsAreValidJSONWhateverTheRequestHolds() async throws {
        try await blocking {
            // Quotes, backslashes and tabs in headers (control characters are illegal
            // there: HTTP/2 resets such a stream), and control bytes in the body.
            let scratch = try Scratch()
            defer { scratch.cleanup() }
            let body = "quote\" back\\slash \u{01}\u{1F} newline\n end"
            try body.write(toFile: scratch.file("body"), atomically: true, encoding: .utf8)
            try Self.withServer { port in
                let header = "a\"b\\c\td"
                let result = try Command.curl([
                    "--http2-prior-knowledge", "-H", "x-odd: \(header)", "--data-binary", "@" + scratch.file("body"),
                    "http://127.0.0.1:\(port)/odd",
                ])
                let report = try Command.object(result.output)
                #expect((report["headers"] as? [[String]])?.contains(["x-odd", header]) == true)
                #expect(report["body"] as? String == body)
                let empty = try Command.curl([
                    "--http2-prior-knowledge", "--data-binary", "@/dev/null", "http://127.0.0.1:\(port)/empty",
                ])
                #expect(try Command.object(empty.output)["body_bytes"] as? Int == 0)
            }
        }
    }
}
