import NIOCore
import NIOEmbedded
import Testing
import WeftTestSupport

@testable import WeftHTTP2

/// Moves bytes between a real nghttp2 client session and a handler under test on
/// an EmbeddedChannel until neither has anything to send, collecting the client's
/// events.
func pump(client: NGHTTP2Session, channel: EmbeddedChannel, events: inout [HTTP2SessionEvent]) throws {
    var moved = true
    while moved {
        moved = false
        // The handler writes what the application asked for at the end of the
        // event-loop turn: let the turn end.
        channel.embeddedEventLoop.run()
        let output = try client.drainOutput()
        if output.readableBytes > 0, channel.isActive {
            try channel.writeInbound(output)
            moved = true
        }
        while let bytes = try channel.readOutbound(as: ByteBuffer.self) {
            try client.receive(bytes)
            moved = true
        }
        events += client.takeEvents()
    }
}

/// Reads every frame the handler wrote and the test has not: (type, payload).
func writtenFrames(_ channel: EmbeddedChannel) throws -> [(type: UInt8, payload: [UInt8])] {
    var bytes: [UInt8] = []
    while let buffer = try channel.readOutbound(as: ByteBuffer.self) { bytes += buffer.readableBytesView }
    var frames: [(type: UInt8, payload: [UInt8])] = []
    var offset = 0
    while bytes.count - offset >= 9 {
        let length = Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
        guard bytes.count - offset - 9 >= length else { break }
        frames.append((bytes[offset + 3], Array(bytes[(offset + 9)..<(offset + 9 + length)])))
        offset += 9 + length
    }
    return frames
}

/// The error codes of the GOAWAY frames among `frames`.
func goAwayCodes(_ frames: [(type: UInt8, payload: [UInt8])]) -> [HTTP2ErrorCode] {
    frames.filter { $0.type == 7 && $0.payload.count >= 8 }.map { frame in
        HTTP2ErrorCode(rawValue: frame.payload[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    }
}
