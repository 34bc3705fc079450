import Foundation
import Testing
import WeftHTTP2
import WeftTestSupport

/// Hostile HTTP/2 on a real socket against the frontend sidecar's h2c port, each
/// attack with its exact outcome pinned, and the sidecar still serving afterwards.
@Suite(.serialized) struct SidecarAbuseTests {
    typealias Raw = RawHTTP2

    static func goAway(_ frames: [Raw.Frame]) -> UInt32? {
        frames.last { $0.type == Raw.FrameType.goaway.rawValue }?.errorCode
    }

    /// The mesh still carries a request on a fresh connection.
    static func stillServes(_ port: Int) throws {
        let result = try Command.curl(["--http2-prior-knowledge", "http://127.0.0.1:\(port)/after"])
        #expect(result.status == 0, "\(result.errors)")
        #expect((try? Command.object(result.output))?["path"] as? String == "/after", "\(result.output)")
    }

    @Test func rapidResetEndsInGoAwayEnhanceYourCalmAfterTheBurst() async throws {
        try await blocking {
            try SidecarMeshTests.withMesh { _, frontend, _ in
                let port = frontend.upstreams["backend"]!
                var attack: [UInt8] = []
                for index in 0..<3000 {
                    let stream = UInt32(2 * index + 1)
                    attack += Raw.frame(
                        .headers, flags: Raw.endHeaders, stream: stream, Raw.headerBlock(Raw.get("/reset")))
                    attack += Raw.frame(.rstStream, stream: stream, Raw.bigEndian(HTTP2ErrorCode.cancel.rawValue))
                }
                let (frames, closed) = try Raw.exchange(port: port, attack)
                #expect(
                    Self.goAway(frames) == HTTP2ErrorCode.enhanceYourCalm.rawValue,
                    "\(frames.suffix(3))\nfrontend: \(frontend.process.output.suffix(2000))")
                #expect(closed)
                // Not before the burst: the first thousand resets are a client's right.
                let goAway = frames.last { $0.type == Raw.FrameType.goaway.rawValue }
                let lastStream = goAway.map { UInt32(bytes: $0.payload[0..<4]) } ?? 0
                #expect(lastStream >= 2 * 1000 + 1, "GOAWAY names stream \(lastStream)")
                try Self.stillServes(port)
            }
        }
    }

    @Test func floodsAndForbiddenFramesEndTheConnectionWithTheirCode() async throws {
        try await blocking {
            try SidecarMeshTests.withMesh { _, frontend, _ in
                let port = frontend.upstreams["backend"]!
                let block = Raw.headerBlock(Raw.get())
                // A header block that never ends: CONTINUATION after CONTINUATION.
                var continuations = Raw.frame(.headers, stream: 1, block)
                for _ in 0..<64 {
                    continuations += Raw.frame(.continuation, stream: 1, Raw.headerBlock([("x-pad", "0123456789")]))
                }
                // SETTINGS with more entries than any peer needs (there are six kinds).
                let settings = Raw.frame(
                    .settings, Array((0..<100).flatMap { _ in [0x00, 0x03] + Raw.bigEndian(100) }))
                // A client may not push (RFC 9113 8.4).
                let push =
                    Raw.frame(
                        .headers, flags: Raw.endHeaders | Raw.endStream, stream: 1, block)
                    + Raw.frame(.pushPromise, flags: Raw.endHeaders, stream: 1, Raw.bigEndian(2) + block)
                // Stream ids only grow (RFC 9113 5.1.1).
                let backwards =
                    Raw.frame(.headers, flags: Raw.endHeaders | Raw.endStream, stream: 5, block)
                    + Raw.frame(.headers, flags: Raw.endHeaders | Raw.endStream, stream: 3, block)
                // DATA on stream 0 is a connection error (RFC 9113 6.1).
                let dataOnZero = Raw.frame(.data, stream: 0, [1, 2, 3])

                let cases: [(String, [UInt8], HTTP2ErrorCode)] = [
                    ("CONTINUATION flood", continuations, .enhanceYourCalm),
                    ("oversized SETTINGS", settings, .enhanceYourCalm),
                    ("PUSH_PROMISE from a client", push, .protocolError),
                    ("a stream id lower than an earlier one", backwards, .protocolError),
                    ("DATA on stream 0", dataOnZero, .protocolError),
                ]
                for (name, attack, expected) in cases {
                    let (frames, closed) = try Raw.exchange(port: port, attack)
                    #expect(Self.goAway(frames) == expected.rawValue, "\(name): \(frames)")
                    #expect(closed, "\(name): the connection stayed open")
                }
                try Self.stillServes(port)
            }
        }
    }

    /// RFC 9113 5.1.1 (stream ids only grow; nghttp2 alone would ignore a
    /// lower one) on every plain-text HTTP/2 listener: the sidecar's outbound
    /// port, the gateway's edge and weft-echo. Each ends the connection with
    /// GOAWAY(PROTOCOL_ERROR) and keeps serving others.
    @Test func aLowerStreamIDEndsTheConnectionOnEveryPlainHTTP2Listener() async throws {
        try await blocking {
            try SidecarMeshTests.withMesh { mesh, frontend, _ in
                let gateway = try mesh.startGateway("edge", snapshot: try mesh.paymentsBehindGateway())
                let echo = try mesh.startEcho(name: "plain")
                let block = Raw.headerBlock(Raw.get())
                let backwards =
                    Raw.frame(.headers, flags: Raw.endHeaders | Raw.endStream, stream: 5, block)
                    + Raw.frame(.headers, flags: Raw.endHeaders | Raw.endStream, stream: 3, block)
                for (name, port) in [
                    ("sidecar outbound", frontend.upstreams["backend"]!), ("sidecar HTTP proxy", frontend.proxy),
                    ("gateway", gateway.http), ("weft-echo", echo),
                ] {
                    let (frames, closed) = try Raw.exchange(port: port, backwards)
                    #expect(Self.goAway(frames) == HTTP2ErrorCode.protocolError.rawValue, "\(name): \(frames)")
                    #expect(closed, "\(name): the connection stayed open")
                }
                try Self.stillServes(frontend.upstreams["backend"]!)
            }
        }
    }

    /// The same over TLS: the sidecar's mesh port (mutual TLS, a mesh
    /// certificate presented), the gateway's TLS edge and weft-echo with TLS.
    @Test func aLowerStreamIDEndsTheConnectionOnEveryTLSHTTP2Listener() async throws {
        try await blocking {
            try SidecarMeshTests.withMesh { mesh, _, backend in
                let edge = try mesh.credentials(for: MeshFixture.identity("edge-tls"), name: "edge-tls")
                let gateway = try mesh.startGateway(
                    "edge", snapshot: try mesh.paymentsBehindGateway(),
                    extra: [
                        "--tls-listen", "127.0.0.1:0", "--tls-certificate", edge.certificate, "--tls-key", edge.key,
                    ])
                let https = try #require(gateway.https, "no TLS listener: \(gateway.process.output)")
                let echo = try mesh.startEcho(
                    name: "tls", extra: ["--tls-cert", edge.certificate, "--tls-key", edge.key])
                let caller = try mesh.credentials(for: MeshFixture.identity("frontend"), name: "raw-caller")
                let block = Raw.headerBlock(Raw.get())
                let backwards =
                    Raw.frame(.headers, flags: Raw.endHeaders | Raw.endStream, stream: 5, block)
                    + Raw.frame(.headers, flags: Raw.endHeaders | Raw.endStream, stream: 3, block)
                for (name, port, client) in [
                    ("sidecar mesh port", backend.inbound, Optional(caller)), ("gateway TLS edge", https, nil),
                    ("weft-echo TLS", echo, nil),
                ] {
                    let (frames, closed) = try Raw.exchangeTLS(
                        port: port, backwards, certificate: client?.certificate, key: client?.key)
                    #expect(
                        frames.contains { $0.type == Raw.FrameType.settings.rawValue }, "\(name): no HTTP/2 over TLS")
                    #expect(Self.goAway(frames) == HTTP2ErrorCode.protocolError.rawValue, "\(name): \(frames)")
                    #expect(closed, "\(name): the connection stayed open")
                }
            }
        }
    }

    @Test func streamErrorsResetOnlyTheirStream() async throws {
        try await blocking {
            try SidecarMeshTests.withMesh { _, frontend, _ in
                let port = frontend.upstreams["backend"]!
                // Extended CONNECT (RFC 8441) is not offered: `:protocol` makes the request
                // malformed. A header block over SETTINGS_MAX_HEADER_LIST_SIZE (64 KiB) is
                // refused. Uppercase field names are malformed (RFC 9113 8.2.1). Each resets
                // its own stream; a request after them on the same connection is answered.
                let extended = Raw.headerBlock([
                    (":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"), (":authority", "backend"),
                    (":path", "/chat"),
                ])
                // (Seven fields of 10 KB: one field over 64 KiB is a connection error in
                // nghttp2's HPACK decoder, which is not what this case is about.)
                let big = Raw.headerBlock(
                    Raw.get() + (0..<7).map { ("x-big-\($0)", String(repeating: "a", count: 10_000)) })
                var oversized = Raw.frame(.headers, stream: 3, Array(big.prefix(16_000)))
                var offset = 16_000
                while offset < big.count {
                    let end = min(offset + 16_000, big.count)
                    oversized += Raw.frame(
                        .continuation, flags: end == big.count ? Raw.endHeaders : 0, stream: 3, Array(big[offset..<end])
                    )
                    offset = end
                }
                let uppercase = Raw.headerBlock(Raw.get() + [("X-Upper", "1")])
                let attack =
                    Raw.frame(.headers, flags: Raw.endHeaders | Raw.endStream, stream: 1, extended) + oversized
                    + Raw.frame(.headers, flags: Raw.endHeaders | Raw.endStream, stream: 5, uppercase)
                    + Raw.frame(.headers, flags: Raw.endHeaders | Raw.endStream, stream: 7, Raw.headerBlock(Raw.get()))
                let (frames, _) = try Raw.exchange(port: port, attack)
                let resets = Dictionary(
                    frames.filter { $0.type == Raw.FrameType.rstStream.rawValue }.map { ($0.stream, $0.errorCode!) },
                    uniquingKeysWith: { first, _ in first })
                #expect(resets[1] == HTTP2ErrorCode.protocolError.rawValue, "\(frames)")
                #expect(resets[3] != nil, "\(frames)")
                #expect(resets[5] == HTTP2ErrorCode.protocolError.rawValue, "\(frames)")
                #expect(Self.goAway(frames) == nil, "\(frames)")
                #expect(
                    frames.contains { $0.type == Raw.FrameType.headers.rawValue && $0.stream == 7 },
                    "stream 7 was not answered: \(frames)")
            }
        }
    }

    @Test func oversizedHTTP1HeadersAreAnswered431() async throws {
        try await blocking {
            try SidecarMeshTests.withMesh { _, frontend, _ in
                let port = frontend.upstreams["backend"]!
                let request =
                    "GET / HTTP/1.1\r\nHost: backend\r\nX-Big: \(String(repeating: "a", count: 100_000))\r\n\r\n"
                let answer = try RawHTTP.exchange(port: port, request)
                #expect(answer.hasPrefix("HTTP/1.1 431"), "\(answer.prefix(120).debugDescription)")
                try Self.stillServes(port)
            }
        }
    }
}

extension SidecarAbuseTests {
    static let badApp = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Peers/bad_h2_app.py").path

    /// Malformed HTTP/2 from the other side: an h2c application that answers the
    /// backend sidecar with HTTP/1.1, a stream a server may not open, or an
    /// oversized frame. The caller gets a precise error, and the sidecar goes on.
    @Test func malformedHTTP2FromTheApplicationIsAnsweredAndContained() async throws {
        try await blocking {
            for mode in ["http1", "even-stream", "garbage"] {
                let mesh = try MeshFixture()
                defer { mesh.stop() }
                let app = try mesh.startPeer("/usr/bin/python3", [Self.badApp, mode, "0"])
                let (frontend, backend) = try mesh.startPair(app: app, appProtocol: "http2")
                for _ in 0..<3 {
                    let result = try Command.curl([
                        "-i", "--max-time", "10", "http://127.0.0.1:\(frontend.upstreams["backend"]!)/",
                    ])
                    let head = result.output.lowercased()
                    #expect(
                        head.hasPrefix("http/1.1 502") || head.hasPrefix("http/1.1 503"),
                        "\(mode): \(result.output.prefix(300)) \(result.errors)\nfrontend: \(frontend.process.output.suffix(1500))\nbackend: \(backend.process.output.suffix(1500))"
                    )
                    #expect(
                        head.contains("x-weft-error: application-unavailable")
                            || head.contains("x-weft-error: upstream-reset"),
                        "\(mode): \(result.output.prefix(300))")
                }
                let live = try Command.curl([
                    "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(backend.admin)/live",
                ])
                #expect(
                    live.output == "200", "\(mode): the backend sidecar is gone: \(backend.process.output.suffix(600))")
            }
        }
    }
}
