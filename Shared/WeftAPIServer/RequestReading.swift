import HTTPTypes
public import Hummingbird
import NIOCore
public import WeftProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension Request {
    /// Decodes the body as `T` with WeftProtocol's strict rules: a non-JSON
    /// Content-Type is 415, more than `maximumSize` bytes 413, anything that does
    /// not decode a `ProtocolError` naming the field. An empty body decodes as
    /// `{}` when `emptyIsObject`.
    public mutating func decodeJSON<T: Decodable>(
        _ type: T.Type, maximumSize: Int = WeftJSON.defaultMaximumSize, emptyIsObject: Bool = false
    ) async throws -> T {
        if let contentType = headers[.contentType] {
            let mediaType = trimmed(contentType.split(separator: ";", maxSplits: 1).first ?? "").lowercased()
            guard mediaType == "application/json" || mediaType.hasSuffix("+json") else {
                throw APIRefusal.unsupportedMediaType(contentType)
            }
        }
        let buffer: ByteBuffer
        do {
            buffer = try await collectBody(upTo: maximumSize)
        } catch is NIOTooManyBytesError {
            throw APIRefusal.tooLarge(limit: maximumSize)
        }
        let data = buffer.readableBytes == 0 && emptyIsObject ? Data("{}".utf8) : Data(buffer.readableBytesView)
        return try WeftJSON.decode(type, from: data, maximumSize: maximumSize)
    }

    /// The query parameters, refusing any not in `allowed` (a typo must not be
    /// silently ignored) and any given twice.
    public func strictQuery(allowed: Set<String>) throws(ProtocolError) -> [String: String] {
        var values: [String: String] = [:]
        for (name, value) in uri.queryParameters {
            let name = String(name)
            guard allowed.contains(name) else {
                let expected = allowed.isEmpty ? "none" : allowed.sorted().joined(separator: ", ")
                throw ProtocolError(field: name, "unknown query parameter; expected \(expected)")
            }
            guard values.updateValue(String(value), forKey: name) == nil else {
                throw ProtocolError(field: name, "given twice")
            }
        }
        return values
    }

    /// The token of `Authorization: Bearer <token>`; 401 (with `realm` in the
    /// challenge) when it is missing or malformed.
    public func bearerToken(realm: String, expecting: String) throws(APIRefusal) -> String {
        guard let authorization = headers[.authorization] else {
            throw APIRefusal.unauthenticated("send Authorization: Bearer <\(expecting)>", realm: realm)
        }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !trimmed(parts[1]).isEmpty else {
            throw APIRefusal.unauthenticated("the Authorization header must be Bearer <token>", realm: realm)
        }
        return String(trimmed(parts[1]))
    }

    /// The path split into segments after the leading `/` (empty segments kept,
    /// so `/v1//x` does not match `/v1/x`).
    public var pathSegments: [String] {
        uri.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
    }
}

/// Drops spaces and tabs at both ends.
public func trimmed(_ text: Substring) -> Substring {
    var result = text
    while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
    while let last = result.last, last == " " || last == "\t" { result.removeLast() }
    return result
}
