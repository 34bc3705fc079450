import Foundation

/// What weft-echo answers (in its default mode): the request as the server saw it.
struct EchoReport: Encodable {
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

    enum CodingKeys: String, CodingKey {
        case method, path, authority, `protocol`, headers, body
        case bodyEncoding = "body_encoding"
        case bodyBytes = "body_bytes"
        case trailers
        case peerIdentity = "peer_identity"
    }

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

    func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8)) + [UInt8(ascii: "\n")]
    }

    /// Bodies above this are refused with 413 in report mode (streaming mode has no
    /// limit: it never holds the body).
    static let maximumBody = 1 << 20
}
