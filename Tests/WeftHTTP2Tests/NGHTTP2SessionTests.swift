import Testing

@testable import WeftHTTP2

/// The nghttp2 layer: two real nghttp2 sessions, a client and a server, talking
/// through byte buffers only.
@Suite struct NGHTTP2SessionTests {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    @Test func linksNghttp2() {
        let parts = HTTP2Library.nghttp2Version.split(separator: ".").compactMap { Int($0) }
        #expect(parts.count == 3)
        #expect(parts[0] == 1 && parts[1] >= 52)
    }

    @Test func clientAndServerExchangeSettingsThroughBuffers() throws {
        let client = try NGHTTP2Session(role: .client)
        let server = try NGHTTP2Session(role: .server)
        try client.submitSettings(maxConcurrentStreams: 100, initialWindowSize: 65535)
        try server.submitSettings(maxConcurrentStreams: 128, initialWindowSize: 1 << 20)

        let fromClient = try client.drainOutput()
        #expect(Array(fromClient.prefix(24)) == Self.preface)  // nghttp2 sends the client magic
        try server.receive(fromClient)
        #expect(server.receivedFrameTypes == [.settings])

        let fromServer = try server.drainOutput()
        // Our SETTINGS first, then the ACK of the client's.
        let frames = Self.frames(in: fromServer)
        #expect(frames.map(\.type) == [4, 4])
        #expect(frames.map(\.flags) == [0, 1])
        #expect(frames[0].length == 12)  // two settings, six bytes each

        try client.receive(fromServer)
        #expect(client.receivedFrameTypes == [.settings, .settings])
        #expect(client.isAlive && server.isAlive)
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

    @Test func aMalformedFrameAfterThePrefaceEndsInGoaway() throws {
        let server = try NGHTTP2Session(role: .server)
        // A SETTINGS frame whose length (5) is not a multiple of 6: FRAME_SIZE_ERROR.
        let badSettings: [UInt8] = [0, 0, 5, 4, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5]
        try? server.receive(Self.preface + badSettings)
        let frames = Self.frames(in: try server.drainOutput())
        let goaway = try #require(frames.last)
        #expect(goaway.type == 7)
        // GOAWAY payload: last stream ID (4 bytes), then the error code.
        #expect(goaway.payload.count >= 8)
        let code = goaway.payload[4..<8].reduce(0) { $0 << 8 | UInt32($1) }
        #expect(code == 6, "FRAME_SIZE_ERROR is 0x6, got \(code)")
    }

    struct Frame {
        var length: Int
        var type: UInt8
        var flags: UInt8
        var payload: [UInt8]
    }

    /// Splits bytes into HTTP/2 frames (RFC 9113, section 4.1).
    static func frames(in bytes: [UInt8]) -> [Frame] {
        var frames: [Frame] = []
        var index = 0
        while index + 9 <= bytes.count {
            let length = Int(bytes[index]) << 16 | Int(bytes[index + 1]) << 8 | Int(bytes[index + 2])
            let end = min(bytes.count, index + 9 + length)
            frames.append(
                Frame(
                    length: length, type: bytes[index + 3], flags: bytes[index + 4],
                    payload: Array(bytes[(index + 9)..<end])))
            index += 9 + length
        }
        return frames
    }
}
