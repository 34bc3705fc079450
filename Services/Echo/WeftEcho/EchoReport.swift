import Foundation

/// What weft-echo answers (in its default mode): the request as the server saw it.
struct EchoReport {
    var method: String
    var path: String
    var authority: String?
    /// `h2` or `http/1.1`.
    var `protocol`: String
    /// In arrival order, names as received (lowercase on HTTP/2).
    var headers: [[String]]
    /// The body as UTF-8 text, or base64 when it is not valid UTF-8.
    var body: String
    var bodyEncoding: String
    var bodyBytes: Int
    var trailers: [[String]]
    /// The client's SPIFFE ID when it presented a verified certificate.
    var peerIdentity: String?

    init(
        method: String, path: String, authority: String?, protocol: String, headers: [[String]], body: [UInt8],
        trailers: [[String]], peerIdentity: String?
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

    /// The report as JSON, keys in alphabetical order. Written by hand: the shape is
    /// fixed, and Foundation's JSONEncoder took half of weft-echo's CPU under load
    /// (Benchmarks/RESULTS.md), which would have measured Foundation, not the mesh.
    func json() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + body.utf8.count)
        func key(_ name: String, first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            Self.appendString(name, to: &out)
            out.append(UInt8(ascii: ":"))
        }
        func pairs(_ list: [[String]]) {
            out.append(UInt8(ascii: "["))
            for (index, pair) in list.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "["))
                for (position, item) in pair.enumerated() {
                    if position > 0 { out.append(UInt8(ascii: ",")) }
                    Self.appendString(item, to: &out)
                }
                out.append(UInt8(ascii: "]"))
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "{"))
        if let authority {
            key("authority", first: true)
            Self.appendString(authority, to: &out)
            key("body")
        } else {
            key("body", first: true)
        }
        Self.appendString(body, to: &out)
        key("body_bytes")
        out.append(contentsOf: String(bodyBytes).utf8)
        key("body_encoding")
        Self.appendString(bodyEncoding, to: &out)
        key("headers")
        pairs(headers)
        key("method")
        Self.appendString(method, to: &out)
        key("path")
        Self.appendString(path, to: &out)
        if let peerIdentity {
            key("peer_identity")
            Self.appendString(peerIdentity, to: &out)
        }
        key("protocol")
        Self.appendString(`protocol`, to: &out)
        key("trailers")
        pairs(trailers)
        out.append(contentsOf: "}\n".utf8)
        return out
    }

    /// Appends `text` as a JSON string (RFC 8259 escaping).
    static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings need no escaping: copy them in one go.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: text.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)],
                    hex[Int(byte & 0xF)],
                ])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Bodies above this are refused with 413 in report mode (streaming mode has no
    /// limit: it never holds the body).
    static let maximumBody = 1 << 20
}
