import Foundation
import WeftService

#if canImport(Glibc)
    import Glibc
#endif

/// HTTP/2 written by hand onto a real socket: for the frames no well-behaved
/// client would send (floods, malformed sequences), and for reading back exactly
/// what the server answered, frame by frame.
enum RawHTTP2 {
    struct Frame: CustomStringConvertible {
        var type: UInt8
        var flags: UInt8
        var stream: UInt32
        var payload: [UInt8]

        /// A GOAWAY's error code, or an RST_STREAM's.
        var errorCode: UInt32? {
            switch type {
            case 7 where payload.count >= 8: return UInt32(bytes: payload[4..<8])
            case 3 where payload.count == 4: return UInt32(bytes: payload[0..<4])
            default: return nil
            }
        }

        var description: String {
            let name = [
                "DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY",
                "WINDOW_UPDATE", "CONTINUATION",
            ]
            let kind = type < name.count ? name[Int(type)] : "type \(type)"
            return
                "\(kind)(stream \(stream), flags \(flags), \(payload.count) B\(errorCode.map { ", code \($0)" } ?? ""))"
        }
    }

    enum FrameType: UInt8 {
        case data = 0
        case headers, priority, rstStream, settings, pushPromise, ping, goaway, windowUpdate, continuation
    }
    static let endStream: UInt8 = 0x1
    static let endHeaders: UInt8 = 0x4
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    static func frame(_ type: FrameType, flags: UInt8 = 0, stream: UInt32 = 0, _ payload: [UInt8] = []) -> [UInt8] {
        let length = payload.count
        return [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type.rawValue, flags]
            + bigEndian(stream & 0x7FFF_FFFF) + payload
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// An HPACK block of literal fields without indexing (RFC 7541 6.2.2), no
    /// Huffman coding: valid for any peer and readable in a hex dump.
    static func headerBlock(_ fields: [(String, String)]) -> [UInt8] {
        var block: [UInt8] = []
        for (name, value) in fields {
            block.append(0x00)
            block += length(name.utf8.count) + Array(name.utf8)
            block += length(value.utf8.count) + Array(value.utf8)
        }
        return block
    }

    /// An HPACK string length with a 7-bit prefix (RFC 7541 5.1).
    private static func length(_ count: Int) -> [UInt8] {
        guard count >= 127 else { return [UInt8(count)] }
        var rest = count - 127
        var bytes: [UInt8] = [127]
        while rest >= 128 {
            bytes.append(UInt8(rest & 0x7F | 0x80))
            rest >>= 7
        }
        bytes.append(UInt8(rest))
        return bytes
    }

    static func get(_ path: String = "/", authority: String = "backend") -> [(String, String)] {
        [(":method", "GET"), (":scheme", "http"), (":authority", authority), (":path", path)]
    }

    /// Connects to a loopback port, sends the client preface, an empty SETTINGS and
    /// `bytes`, then reads frames until the server closes the connection or
    /// `seconds` pass without anything arriving.
    static func exchange(port: Int, _ bytes: [UInt8], quietSeconds seconds: Int = 2) throws -> (
        frames: [Frame], closed: Bool
    ) {
        let fd = try connectedSocket(port: port, receiveTimeout: seconds)
        defer { close(fd) }

        // Sent from another thread: a server that stops reading (having closed)
        // must not leave this one blocked in send() while the answer waits unread.
        let outgoing = preface + frame(.settings) + bytes
        let sent = DispatchSemaphore(value: 0)
        let sender = Thread {
            defer { sent.signal() }
            sendAll(fd, outgoing)
        }
        sender.start()

        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var closed = false
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 || (count < 0 && errno == ECONNRESET) {
                closed = true
                break
            }
            if count < 0 { break }
            received += buffer[0..<count]
        }
        // Unblocks the sender if it is still sending; the descriptor closes only
        // after it has stopped, so it can never write into a reused one.
        shutdown(fd, Int32(SHUT_RDWR))
        sent.wait()
        return (parse(received), closed)
    }

    /// `exchange` over TLS (ALPN h2), with `openssl s_client` carrying the
    /// bytes: it sends the preface, an empty SETTINGS and `bytes` once the
    /// handshake is done (with `certificate` and `key` as the client's, for a
    /// listener that requires one), then prints what the server sends until it
    /// closes the connection. Closed is false when s_client had to be stopped
    /// after `seconds`.
    static func exchangeTLS(
        port: Int, _ bytes: [UInt8], certificate: String? = nil, key: String? = nil, seconds: Int = 10
    ) throws -> (frames: [Frame], closed: Bool) {
        let base = NSTemporaryDirectory() + "/weft-raw-tls-" + UUID().uuidString
        let (input, output, errors) = (base + ".in", base + ".out", base + ".err")
        defer { for path in [input, output, errors] { unlink(path) } }
        try Data(preface + frame(.settings) + bytes).write(to: URL(fileURLWithPath: input))
        var arguments = [
            String(seconds), "openssl", "s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost",
            "-alpn", "h2", "-quiet",
        ]
        if let certificate, let key { arguments += ["-cert", certificate, "-key", key] }
        let pid = try ProcessSpawning.spawn(
            "/usr/bin/timeout", arguments,
            environment: ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" },
            output: output, errors: errors, input: input)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let received = [UInt8](FileManager.default.contents(atPath: output) ?? Data())
        // timeout(1) exits 124 when it had to stop s_client.
        return (parse(received), (status >> 8) & 0xff != 124)
    }

    static func parse(_ bytes: [UInt8]) -> [Frame] {
        var frames: [Frame] = []
        var offset = 0
        while bytes.count - offset >= 9 {
            let length = Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
            guard bytes.count - offset - 9 >= length else { break }
            frames.append(
                Frame(
                    type: bytes[offset + 3], flags: bytes[offset + 4],
                    stream: UInt32(bytes: bytes[(offset + 5)..<(offset + 9)]) & 0x7FFF_FFFF,
                    payload: Array(bytes[(offset + 9)..<(offset + 9 + length)])))
            offset += 9 + length
        }
        return frames
    }
}

extension UInt32 {
    init(bytes: ArraySlice<UInt8>) {
        self = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }
}
