import NIOCore
import Testing

@testable import WeftHTTP2

/// The HTTP/2 engine: a real nghttp2 client session and a real nghttp2 server
/// session, connected only through byte buffers; hostile input as raw frames.
@Suite struct NGHTTP2SessionTests {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// A client and a server session and what each has observed.
    final class Link {
        let client: NGHTTP2Session
        let server: NGHTTP2Session
        var clientEvents: [HTTP2SessionEvent] = []
        var serverEvents: [HTTP2SessionEvent] = []

        init(client: HTTP2Configuration = HTTP2Configuration(), server: HTTP2Configuration = HTTP2Configuration())
            throws
        {
            self.client = try NGHTTP2Session(role: .client, configuration: client)
            self.server = try NGHTTP2Session(role: .server, configuration: server)
        }

        /// Moves bytes both ways until neither side has anything to send.
        func pump() throws {
            var moved = true
            while moved {
                moved = false
                let fromClient = try client.drainOutput()
                if fromClient.readableBytes > 0 {
                    try server.receive(fromClient)
                    moved = true
                }
                serverEvents += server.takeEvents()
                let fromServer = try server.drainOutput()
                if fromServer.readableBytes > 0 {
                    try client.receive(fromServer)
                    moved = true
                }
                clientEvents += client.takeEvents()
            }
        }
    }

    static func request(_ path: String, method: String = "GET") -> [HTTP2Header] {
        [
            HTTP2Header(":method", method), HTTP2Header(":scheme", "https"), HTTP2Header(":authority", "api.weft"),
            HTTP2Header(":path", path),
        ]
    }

    static func body(_ events: [HTTP2SessionEvent], stream: Int32) -> String {
        events.reduce(into: "") { text, event in
            if case .data(stream, let bytes, _) = event { text += String(buffer: bytes) }
        }
    }

    static func closed(_ events: [HTTP2SessionEvent]) -> [Int32: HTTP2ErrorCode] {
        events.reduce(into: [:]) { result, event in
            if case .streamClosed(let id, let code) = event { result[id] = code }
        }
    }

    static func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, payload: [UInt8] = []) -> [UInt8] {
        let length = payload.count
        return [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, flags]
            + [UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)]
            + payload
    }

    @Test func linksNghttp2() {
        let parts = HTTP2Library.nghttp2Version.split(separator: ".").compactMap { Int($0) }
        #expect(parts.count == 3)
        #expect(parts[0] == 1 && parts[1] >= 52)
    }

    @Test func theClientSendsThePrefaceAndBothSidesExchangeSettings() throws {
        let link = try Link()
        let first = try link.client.drainOutput()
        #expect(Array(first.readableBytesView.prefix(24)) == Self.preface)
        try link.server.receive(first)
        link.serverEvents += link.server.takeEvents()
        try link.pump()
        #expect(link.serverEvents.contains { if case .settingsReceived = $0 { true } else { false } })
        #expect(link.clientEvents.contains { if case .settingsReceived = $0 { true } else { false } })
        #expect(link.client.isAlive && link.server.isAlive)
    }

    @Test func requestsAndResponsesCarryBodiesAndTrailers() throws {
        let link = try Link()
        let stream = try link.client.submitRequest(Self.request("/echo", method: "POST"), endStream: false)
        try link.client.sendData(streamID: stream, ByteBuffer(string: "hello "), endStream: false)
        try link.client.sendData(streamID: stream, ByteBuffer(string: "mesh"), endStream: true)
        try link.pump()

        guard
            case .headers(stream, let headers, false)? = link.serverEvents.first(where: {
                if case .headers = $0 { true } else { false }
            })
        else {
            Issue.record("no request headers: \(link.serverEvents)")
            return
        }
        #expect(headers[first: ":path"] == "/echo")
        #expect(headers[first: ":method"] == "POST")
        #expect(Self.body(link.serverEvents, stream: stream) == "hello mesh")
        link.server.consume(streamID: stream, count: 10)

        try link.server.submitResponse(streamID: stream, [HTTP2Header(":status", "200")], endStream: false)
        try link.server.sendData(streamID: stream, ByteBuffer(string: "world"), endStream: false)
        try link.server.sendTrailers(streamID: stream, [HTTP2Header("grpc-status", "0")])
        try link.pump()

        let blocks = link.clientEvents.compactMap { event -> ([HTTP2Header], Bool)? in
            if case .headers(stream, let headers, let end) = event { return (headers, end) } else { return nil }
        }
        #expect(blocks.count == 2)
        #expect(blocks.first?.0[first: ":status"] == "200")
        #expect(blocks.last?.0 == [HTTP2Header("grpc-status", "0")] && blocks.last?.1 == true)
        #expect(Self.body(link.clientEvents, stream: stream) == "world")
        #expect(Self.closed(link.clientEvents)[stream] == .noError)
    }

    @Test func manyStreamsShareOneConnection() throws {
        let link = try Link()
        let streams = try (0..<100).map { try link.client.submitRequest(Self.request("/item/\($0)"), endStream: true) }
        try link.pump()
        let requests = link.serverEvents.compactMap { event -> (Int32, String)? in
            if case .headers(let id, let headers, true) = event {
                return (id, headers[first: ":path"] ?? "")
            } else {
                return nil
            }
        }
        #expect(requests.count == 100)
        for (id, path) in requests {
            try link.server.submitResponse(streamID: id, [HTTP2Header(":status", "200")], endStream: false)
            try link.server.sendData(streamID: id, ByteBuffer(string: path), endStream: true)
        }
        try link.pump()
        for (index, id) in streams.enumerated() {
            #expect(Self.body(link.clientEvents, stream: id) == "/item/\(index)")
            #expect(Self.closed(link.clientEvents)[id] == .noError)
        }
    }

    @Test func aReaderThatDoesNotConsumeStopsTheSender() throws {
        let link = try Link()
        let stream = try link.client.submitRequest(Self.request("/big"), endStream: true)
        try link.pump()
        let size = 1 << 20
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try link.server.submitResponse(streamID: stream, [HTTP2Header(":status", "200")], endStream: false)
        var body = ByteBuffer()
        body.writeBytes(payload)
        try link.server.sendData(streamID: stream, body, endStream: true)
        try link.pump()

        // Nothing consumed: at most the initial stream window (65,535) arrives, and
        // the rest waits at the sender.
        var received: [UInt8] = []
        func collect() -> Int {
            var count = 0
            for case .data(stream, let bytes, _) in link.clientEvents {
                received += Array(bytes.readableBytesView)
                count += bytes.readableBytes
            }
            link.clientEvents.removeAll()
            return count
        }
        let first = collect()
        #expect(first <= 65_535 && first > 0)
        #expect(link.server.pendingOutboundBytes(streamID: stream) >= size - 65_535)
        try link.pump()
        #expect(collect() == 0)  // still stalled

        // Consuming reopens the window; the body arrives complete and intact.
        var rounds = 0
        var consumedNow = first
        while received.count < size && rounds < 200 {
            link.client.consume(streamID: stream, count: consumedNow)
            try link.pump()
            consumedNow = collect()
            rounds += 1
        }
        #expect(received == payload)
    }

    @Test func streamsPastTheAdvertisedLimitAreRefused() throws {
        var server = HTTP2Configuration()
        server.maximumConcurrentStreams = 2
        let link = try Link(server: server)
        // Opened before the client has heard the server's SETTINGS.
        let streams = try (0..<3).map { _ in try link.client.submitRequest(Self.request("/"), endStream: false) }
        try link.pump()
        let closed = Self.closed(link.clientEvents)
        #expect(closed[streams[2]] == .refusedStream)
        #expect(closed[streams[0]] == nil && closed[streams[1]] == nil)
    }

    @Test func malformedRequestsResetOnlyTheirStream() throws {
        let link = try Link()
        let good = try link.client.submitRequest(Self.request("/ok"), endStream: true)
        let missingPath = try link.client.submitRequest(
            [HTTP2Header(":method", "GET"), HTTP2Header(":scheme", "https"), HTTP2Header(":authority", "x")],
            endStream: true)
        let pseudoAfterRegular = try link.client.submitRequest(
            [
                HTTP2Header(":method", "GET"), HTTP2Header("x", "1"), HTTP2Header(":scheme", "https"),
                HTTP2Header(":path", "/"),
            ],
            endStream: true)
        let badValue = try link.client.submitRequest(
            Self.request("/") + [HTTP2Header("x-bad", "a\r\nb")], endStream: true)
        try link.pump()
        let closed = Self.closed(link.clientEvents)
        for stream in [missingPath, pseudoAfterRegular, badValue] {
            #expect(closed[stream] == .protocolError, "stream \(stream): \(String(describing: closed[stream]))")
        }
        // The well-formed request on the same connection is unaffected.
        let served = link.serverEvents.compactMap { event -> Int32? in
            if case .headers(let id, _, _) = event { return id } else { return nil }
        }
        #expect(served == [good])
        #expect(link.client.isAlive && link.server.isAlive)
    }

    /// A HEADERS block hand-encoded in HPACK (nghttp2's client lowercases names, so
    /// it cannot send this): :method GET, :scheme https, :path / (static table),
    /// :authority "x" (indexed name), then a literal field with a new `name`.
    static func requestBlock(extraName name: String) -> [UInt8] {
        [0x82, 0x87, 0x84, 0x41, 0x01, UInt8(ascii: "x"), 0x00, UInt8(name.utf8.count)] + Array(name.utf8) + [
            0x01, 0x31,
        ]
    }

    @Test func uppercaseHeaderNamesMakeARequestMalformed() throws {
        // Control: the same block with a lowercase name is a valid request.
        let control = try NGHTTP2Session(role: .server)
        try control.receive(
            Self.preface + Self.frame(type: 4)
                + Self.frame(type: 1, flags: 0x05, stream: 1, payload: Self.requestBlock(extraName: "x-upper")))
        #expect(
            control.takeEvents().contains {
                if case .headers(1, let headers, true) = $0 { headers[first: "x-upper"] == "1" } else { false }
            })

        let server = try NGHTTP2Session(role: .server)
        try server.receive(
            Self.preface + Self.frame(type: 4)
                + Self.frame(type: 1, flags: 0x05, stream: 1, payload: Self.requestBlock(extraName: "X-Upper")))
        #expect(!server.takeEvents().contains { if case .headers = $0 { true } else { false } })
        // RST_STREAM (type 3) on stream 1 with PROTOCOL_ERROR.
        let bytes = Array(try server.drainOutput().readableBytesView)
        let reset: [UInt8] = Self.frame(type: 3, stream: 1, payload: [0, 0, 0, 1])
        #expect(bytes.count >= reset.count)
        #expect((0...(bytes.count - reset.count)).contains { Array(bytes[$0..<($0 + reset.count)]) == reset })
        #expect(server.isAlive)
    }

    @Test func oversizedHeaderBlocksResetTheirStream() throws {
        var server = HTTP2Configuration()
        server.maximumHeaderListSize = 1024
        let link = try Link(server: server)
        try link.pump()  // the client learns the limit, but a hostile one ignores it
        let stream = try link.client.submitRequest(
            Self.request("/") + [HTTP2Header("x-huge", String(repeating: "v", count: 4096))], endStream: true)
        try link.pump()
        #expect(Self.closed(link.clientEvents)[stream].map { $0 != .noError } == true)
        #expect(!link.serverEvents.contains { if case .headers = $0 { true } else { false } })
        #expect(link.server.isAlive)
    }

    @Test func gracefulShutdownLetsInFlightStreamsFinish() throws {
        let link = try Link()
        let inFlight = try link.client.submitRequest(Self.request("/slow"), endStream: true)
        try link.pump()
        link.server.announceShutdown()
        try link.pump()
        #expect(link.clientEvents.contains { if case .goAway(Int32.max, .noError) = $0 { true } else { false } })
        link.server.goAway()
        try link.pump()
        #expect(link.clientEvents.contains { if case .goAway(inFlight, .noError) = $0 { true } else { false } })
        // A stream opened now is refused and never reaches the server; the one in
        // flight still completes.
        let late = try? link.client.submitRequest(Self.request("/late"), endStream: true)
        try link.server.submitResponse(streamID: inFlight, [HTTP2Header(":status", "200")], endStream: false)
        try link.server.sendData(streamID: inFlight, ByteBuffer(string: "done"), endStream: true)
        try link.pump()
        #expect(Self.body(link.clientEvents, stream: inFlight) == "done")
        #expect(Self.closed(link.clientEvents)[inFlight] == .noError)
        if let late { #expect(Self.closed(link.clientEvents)[late] == .refusedStream) }
        let seen = link.serverEvents.compactMap { event -> Int32? in
            if case .headers(let id, _, _) = event { return id } else { return nil }
        }
        #expect(seen == [inFlight])
    }

    @Test func pingsAreAcknowledgedWithTheirPayload() throws {
        let link = try Link()
        link.client.ping(payload: 0x0123_4567_89AB_CDEF)
        try link.pump()
        #expect(
            link.clientEvents.contains { if case .pingAcknowledged(0x0123_4567_89AB_CDEF) = $0 { true } else { false } }
        )
    }

    @Test func resetsAreReportedToThePeer() throws {
        let link = try Link()
        let stream = try link.client.submitRequest(Self.request("/"), endStream: false)
        try link.pump()
        link.client.resetStream(stream, errorCode: .cancel)
        try link.pump()
        #expect(Self.closed(link.serverEvents)[stream] == .cancel)
    }

    @Test func aServerRefusesAClientWithoutTheConnectionPreface() throws {
        let server = try NGHTTP2Session(role: .server)
        #expect {
            try server.receive(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        } throws: { error in
            guard let error = error as? HTTP2Error else { return false }
            return error.kind == .protocolViolation && error.reason.lowercased().contains("magic")
        }
    }

    @Test func aMalformedFrameEndsInGoawayWithTheRightCode() throws {
        let server = try NGHTTP2Session(role: .server)
        // A SETTINGS frame whose length (5) is not a multiple of 6: FRAME_SIZE_ERROR.
        try? server.receive(Self.preface + Self.frame(type: 4, payload: [1, 2, 3, 4, 5]))
        let output = try server.drainOutput()
        let bytes = Array(output.readableBytesView)
        // The last frame is the GOAWAY; its payload ends with the error code.
        #expect(bytes.count >= 17)
        let code = bytes.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        #expect(bytes[bytes.count - 17 + 3] == 7)  // GOAWAY
        #expect(code == HTTP2ErrorCode.frameSizeError.rawValue)
    }

    @Test func pingAndSettingsFloodsEndTheConnection() throws {
        for flood in [
            Array(repeating: Self.frame(type: 6, payload: Array(repeating: 0, count: 8)), count: 5000).flatMap { $0 },
            Array(repeating: Self.frame(type: 4), count: 5000).flatMap { $0 },
        ] {
            let server = try NGHTTP2Session(role: .server)
            // The attacker never reads, so acknowledgements pile up.
            #expect {
                try server.receive(Self.preface + Self.frame(type: 4) + flood)
            } throws: { error in
                (error as? HTTP2Error)?.kind == .protocolViolation
            }
        }
    }

    @Test func emptyDataFramesFloodEndsTheConnection() throws {
        let link = try Link()
        let stream = try link.client.submitRequest(Self.request("/upload", method: "POST"), endStream: false)
        try link.pump()
        let flood = Array(repeating: Self.frame(type: 0, stream: UInt32(stream)), count: 500).flatMap { $0 }
        #expect {
            try link.server.receive(flood)
        } throws: { error in
            (error as? HTTP2Error)?.reason.contains("empty DATA frames") == true
        }
        // The server says why before closing.
        let goaway = Array(try link.server.drainOutput().readableBytesView)
        #expect(
            goaway.count >= 17
                && goaway.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                    == HTTP2ErrorCode.enhanceYourCalm.rawValue
        )
    }

    @Test func rapidResetEndsTheConnection() throws {
        var server = HTTP2Configuration()
        server.streamResetBurst = 100
        server.streamResetRatePerSecond = 10
        let link = try Link(server: server)
        try link.pump()
        // HEADERS and RST_STREAM both on the wire, 500 times, as an attacker sends them
        // (resetting a stream whose HEADERS were never sent would just cancel it).
        var attack = ByteBuffer()
        for _ in 0..<500 {
            let stream = try link.client.submitRequest(Self.request("/"), endStream: false)
            var headers = try link.client.drainOutput()
            attack.writeBuffer(&headers)
            link.client.resetStream(stream, errorCode: .cancel)
            var reset = try link.client.drainOutput()
            attack.writeBuffer(&reset)
        }
        try? link.server.receive(attack)
        link.serverEvents += link.server.takeEvents()
        try? link.client.receive(try link.server.drainOutput())
        link.clientEvents += link.client.takeEvents()
        #expect(
            link.clientEvents.contains { if case .goAway(_, let code) = $0, code != .noError { true } else { false } })
        #expect(!link.server.isAlive)
    }

    @Test func resetAllowanceIsABurstThenARate() {
        var allowance = ResetAllowance(burst: 3, perSecond: 2)
        let start = NIODeadline.uptimeNanoseconds(0)
        // (seconds after the start, expected answer)
        let steps: [(Int64, Bool)] = [
            (0, true), (0, true), (0, true), (0, false),  // the burst, then none
            (1, true), (1, true), (1, false),  // two a second come back
            (10, true), (10, true), (10, true), (10, false),  // never more than the burst
        ]
        for (index, (second, expected)) in steps.enumerated() {
            #expect(allowance.take(at: start + .seconds(second)) == expected, "step \(index)")
        }
    }

    @Test func headersOnASkippedStreamIdIsAConnectionError() throws {
        let server = try NGHTTP2Session(role: .server)
        let block: [UInt8] = [0x82, 0x86, 0x84, 0x41, 0x01, 0x61]  // GET http / host "a"
        let opening =
            Self.preface + Self.frame(type: 4)
            + Self.frame(type: 1, flags: 0x5, stream: 1, payload: block)
            + Self.frame(type: 1, flags: 0x5, stream: 5, payload: block)
        try server.receive(opening)
        #expect {
            try server.receive(Self.frame(type: 1, flags: 0x5, stream: 3, payload: block))
        } throws: { error in
            (error as? HTTP2Error)?.reason.contains("below the highest stream") == true
        }
        let goaway = Array(try server.drainOutput().readableBytesView)
        #expect(goaway.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) } == HTTP2ErrorCode.protocolError.rawValue)
    }
}
