/// What a service speaks, which decides how proxies carry it: `http` (HTTP/1.1 to
/// the app), `http2`, `grpc` (HTTP/2 with trailers), or `tcp` (tunnelled as
/// HTTP/2 CONNECT streams between sidecars).
public enum ServiceProtocol: String, Codable, CaseIterable, Sendable {
    case http, http2, grpc, tcp

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = ServiceProtocol(rawValue: text) else {
            throw ProtocolError(
                FieldPath(decoder.codingPath),
                "unknown protocol \"\(text.prefix(40))\"; expected one of http, http2, grpc, tcp")
        }
        self = value
    }
}
