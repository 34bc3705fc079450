import Foundation
import NIOCore
import WeftHTTP2

/// What weft-echo answers (in its default mode): the request as the server saw it.
struct EchoReport {
    var method: String
    var path: String
    var authority: String?
    /// `h2` or `http/1.1`.
    var `protocol`: String
    /// In arrival order, names as received (lowercase on HTTP/2); pseudo-headers
    /// are left out of the report.
    var headers: [HTTP2Header]
    /// The body as UTF-8 text, or base64 when it is not valid UTF-8.
    var body: String
    var bodyEncoding: String
    var bodyBytes: Int
    var trailers: [HTTP2Header]
    /// The client's SPIFFE ID when it presented a verified certificate.
    var peerIdentity: String?

    init(
        method: String, path: String, authority: String?, protocol: String, headers: [HTTP2Header], body: [UInt8],
        trailers: [HTTP2Header], peerIdentity: String?
    ) {
        self.method = method
        self.path = path
        self.authority = authority
        self.protocol = `protocol`
        self.headers = headers
        self.trailers = trailers
        self.peerIdentity = peerIdentity
        self.bodyBytes = body.count
        if let text = String(validating: body, as: UTF8.self) {
            self.body = text
            self.bodyEncoding = "utf-8"
        } else {
            self.body = Data(body).base64EncodedString()
            self.bodyEncoding = "base64"
        }
    }

    /// The report as JSON, keys in alphabetical order. Written by hand into one
    /// buffer reserved for the worst case (every byte escaped), through a raw
    /// cursor: Foundation's JSONEncoder took half of weft-echo's CPU under load, and
    /// one ByteBuffer call per token still a fifth (Benchmarks/RESULTS.md), which
    /// would have measured the echo, not the transport.
    func json(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var strings = [method, path, body, bodyEncoding, `protocol`]
        if let authority { strings.append(authority) }
        if let peerIdentity { strings.append(peerIdentity) }
        var bound = 160 + String(bodyBytes).utf8.count
        for string in strings { bound += 6 * string.utf8.count + 2 }
        for header in headers where !header.name.hasPrefix(":") {
            bound += 6 * (header.name.utf8.count + header.value.utf8.count) + 8
        }
        for header in trailers { bound += 6 * (header.name.utf8.count + header.value.utf8.count) + 8 }

        var out = allocator.buffer(capacity: bound)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { raw in
            var writer = JSONWriter(base: raw.baseAddress!.assumingMemoryBound(to: UInt8.self))
            writer.raw("{")
            if let authority {
                writer.raw("\"authority\":")
                writer.string(authority)
                writer.raw(",")
            }
            writer.raw("\"body\":")
            writer.string(body)
            writer.raw(",\"body_bytes\":")
            writer.string(String(bodyBytes), quoted: false)
            writer.raw(",\"body_encoding\":")
            writer.string(bodyEncoding)
            writer.raw(",\"headers\":")
            writer.pairs(headers)
            writer.raw(",\"method\":")
            writer.string(method)
            writer.raw(",\"path\":")
            writer.string(path)
            if let peerIdentity {
                writer.raw(",\"peer_identity\":")
                writer.string(peerIdentity)
            }
            writer.raw(",\"protocol\":")
            writer.string(`protocol`)
            writer.raw(",\"trailers\":")
            writer.pairs(trailers)
            writer.raw("}\n")
            precondition(writer.count <= bound)
            return writer.count
        }
        return out
    }

    /// Bodies above this are refused with 413 in report mode (streaming mode has no
    /// limit: it never holds the body).
    static let maximumBody = 1 << 20
}

/// Writes JSON tokens at a cursor in memory the caller reserved (six bytes per
/// input byte at most, for `\u00XX` escapes).
private struct JSONWriter {
    let base: UnsafeMutablePointer<UInt8>
    var count = 0

    mutating func raw(_ text: StaticString) {
        (base + count).update(from: text.utf8Start, count: text.utf8CodeUnitCount)
        count += text.utf8CodeUnitCount
    }

    mutating func byte(_ value: UInt8) {
        base[count] = value
        count += 1
    }

    /// `text` as a JSON string (RFC 8259 escaping), or bare when not `quoted`.
    mutating func string(_ text: String, quoted: Bool = true) {
        var text = text
        text.withUTF8 { bytes in
            if quoted { byte(UInt8(ascii: "\"")) }
            var clean = true
            for value in bytes where value < 0x20 || value == UInt8(ascii: "\"") || value == UInt8(ascii: "\\") {
                clean = false
                break
            }
            if clean {
                // Most strings need no escaping: one copy.
                if let source = bytes.baseAddress { (base + count).update(from: source, count: bytes.count) }
                count += bytes.count
            } else {
                for value in bytes { escape(value) }
            }
            if quoted { byte(UInt8(ascii: "\"")) }
        }
    }

    mutating func pairs(_ list: [HTTP2Header]) {
        byte(UInt8(ascii: "["))
        var first = true
        for header in list where !header.name.hasPrefix(":") {
            if !first { byte(UInt8(ascii: ",")) }
            first = false
            byte(UInt8(ascii: "["))
            string(header.name)
            byte(UInt8(ascii: ","))
            string(header.value)
            byte(UInt8(ascii: "]"))
        }
        byte(UInt8(ascii: "]"))
    }

    private mutating func escape(_ value: UInt8) {
        switch value {
        case UInt8(ascii: "\""): raw("\\\"")
        case UInt8(ascii: "\\"): raw("\\\\")
        case 0x0A: raw("\\n")
        case 0x0D: raw("\\r")
        case 0x09: raw("\\t")
        case 0..<0x20:
            let hex: StaticString = "0123456789abcdef"
            raw("\\u00")
            byte(hex.utf8Start[Int(value >> 4)])
            byte(hex.utf8Start[Int(value & 0xF)])
        default: byte(value)
        }
    }
}
