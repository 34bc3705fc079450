import Foundation
import WeftTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Sends raw bytes to a loopback port and reads until the server closes (or two
/// seconds pass): for requests no well-behaved client would send.
enum RawHTTP {
    static func exchange(port: Int, _ request: String) throws -> String {
        let fd = try connectedSocket(port: port, receiveTimeout: 2)
        defer { close(fd) }
        sendAll(fd, Array(request.utf8))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }
}

extension RawHTTP {
    /// Opens a tunnel with `CONNECT authority` on a proxy port, then sends
    /// `payload` through it and reads as many bytes back (an echo at the far end).
    /// Returns the proxy's answer to the CONNECT and what came back.
    static func tunnel(port: Int, authority: String, payload: [UInt8]) throws -> (answer: String, echoed: [UInt8]) {
        let fd = try connectedSocket(port: port, receiveTimeout: 5)
        defer { close(fd) }
        sendAll(fd, Array("CONNECT \(authority) HTTP/1.1\r\nHost: \(authority)\r\n\r\n".utf8))
        // The answer's head, byte by byte so nothing of the tunnel is taken with it.
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !head.reversed().starts(with: [10, 13, 10, 13]), recv(fd, &byte, 1, 0) == 1 { head.append(byte) }
        let answer = String(decoding: head, as: UTF8.self)
        guard answer.hasPrefix("HTTP/1.1 200") else {
            // A refusal: its body follows until the proxy closes.
            var rest = [UInt8](repeating: 0, count: 4096)
            var body: [UInt8] = []
            while true {
                let count = recv(fd, &rest, rest.count, 0)
                if count <= 0 { break }
                body += rest[0..<count]
            }
            return (answer + String(decoding: body, as: UTF8.self), [])
        }
        return (answer, sendAndReadBack(fd, payload))
    }
}

/// A TCP socket connected to a loopback port, with a receive timeout.
func connectedSocket(port: Int, receiveTimeout seconds: Int) throws -> Int32 {
    try RawSocket.connect(port: port, receiveTimeout: seconds)
}

/// Sends every byte (MSG_NOSIGNAL: a server that closes early must not kill the
/// test with SIGPIPE); stops quietly when the peer is gone.
@Sendable func sendAll(_ fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let sent = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            if sent <= 0 { return }
            offset += sent
        }
    }
}

extension RawHTTP {
    /// Sends `payload` on a plain TCP connection and reads as many bytes back (an
    /// echo at the far end), sending from another thread while reading.
    static func echo(port: Int, payload: [UInt8]) throws -> [UInt8] {
        let fd = try connectedSocket(port: port, receiveTimeout: 5)
        defer { close(fd) }
        return sendAndReadBack(fd, payload)
    }

    /// Sends `payload` from another thread while this one reads as many bytes back:
    /// the echo comes back as the payload goes out, and neither side may wait for
    /// the other.
    static func sendAndReadBack(_ fd: Int32, _ payload: [UInt8]) -> [UInt8] {
        let sender = Thread { sendAll(fd, payload) }
        sender.start()
        var echoed: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while echoed.count < payload.count {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            echoed += buffer[0..<count]
        }
        return echoed
    }
}
