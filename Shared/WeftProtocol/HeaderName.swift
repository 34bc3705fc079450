/// An HTTP field name as Weft stores it: lowercase (HTTP/2 requires it, and names
/// are case-insensitive), made of RFC 9110 token characters, at most 256 bytes.
/// Pseudo-headers (`:path`) are refused: routes match them through `path`, `host`
/// and `methods` instead.
public struct HeaderName: StringValidated, Hashable, Comparable, Sendable {
    public let rawValue: String

    public init(validating text: String) throws(ProtocolError) {
        guard !text.isEmpty else { throw ProtocolError("invalid header name: must not be empty") }
        guard text.utf8.count <= ProtocolLimits.headerNameLength else {
            throw ProtocolError("invalid header name: longer than \(ProtocolLimits.headerNameLength) bytes")
        }
        if text.hasPrefix(":") {
            throw ProtocolError(
                "invalid header name \"\(text.prefix(40))\": pseudo-headers are matched with host, path and methods")
        }
        guard text.utf8.allSatisfy(Self.isTokenByte) else {
            throw ProtocolError("invalid header name \"\(text.prefix(40))\": may hold only RFC 9110 token characters")
        }
        self.rawValue = text.lowercased()
    }

    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Fields that describe one connection, not the request; a proxy never forwards
    /// them and routes may not set them.
    public static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer",
    ]

    static func isTokenByte(_ byte: UInt8) -> Bool {
        DNSLabel.isAlphanumeric(byte) || "!#$%&'*+-.^_`|~".utf8.contains(byte)
    }
}
