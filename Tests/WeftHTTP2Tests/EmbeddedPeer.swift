import NIOCore
import NIOEmbedded

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
