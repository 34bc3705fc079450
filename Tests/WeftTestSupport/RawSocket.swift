import Foundation
import WeftService

#if canImport(Glibc)
    import Glibc
#endif

/// A raw TCP connection to a loopback port, for tests that must send what no
/// client library would (half a request head) or hold connections open.
public final class RawSocket: @unchecked Sendable {
    // @unchecked: used by one test at a time; the descriptor is immutable.
    public let descriptor: Int32

    /// Connects; reads give up after `receiveTimeout` seconds.
    public init(port: Int, receiveTimeout: Int = 30) throws {
        descriptor = try Self.connect(port: port, receiveTimeout: receiveTimeout)
    }

    /// A TCP socket connected to a loopback port, with a receive timeout: the
    /// caller closes it.
    public static func connect(port: Int, receiveTimeout seconds: Int) throws -> Int32 {
        guard let descriptor = ProcessSpawning.connectLoopback(port: port, receiveTimeout: seconds) else {
            throw POSIXError(.ECONNREFUSED)
        }
        return descriptor
    }

    deinit { close(descriptor) }

    /// Sends `text` (MSG_NOSIGNAL: a peer that closed first must not kill the test).
    public func send(_ text: String) {
        send(bytes: Array(text.utf8))
    }

    /// Sends `bytes` as they are (HTTP/2 frames).
    public func send(bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// One read: what the peer sent, or "" when it closed the connection.
    public func readOnce() -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : ""
    }

    /// What the peer sends until it closes; nil when the receive timeout passes first.
    public func readToClose() -> String? {
        readBytesToClose().map { String(decoding: $0, as: UTF8.self) }
    }

    /// The bytes the peer sends until it closes (or resets); nil when the
    /// receive timeout passes first.
    public func readBytesToClose() -> [UInt8]? {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count == 0 { return received }
            if count < 0 { return errno == EAGAIN || errno == EWOULDBLOCK ? nil : received }
            received += buffer[0..<count]
        }
    }
}
