import HTTPTypes
public import Hummingbird
import NIOCore
import Synchronization
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
        _ type: T.Type, maximumSize: Int = WeftJSON.defaultMaximumSize, emptyIsObject: Bool = false,
        memo: DecodedBodies<T>? = nil
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
        if let memo, let known = memo.value(for: data) { return known }
        let value = try WeftJSON.decode(type, from: data, maximumSize: maximumSize)
        memo?.remember(value, for: data)
        return value
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

/// Bodies decoded before, by their exact bytes: a proxy long-polls discovery
/// with the same body all day, and decoding it again each time was an eighth
/// of the registry's CPU under a thousand watchers. Only bodies that decoded
/// are kept, at most `capacity` (then it starts over), each at most 4 KiB.
public final class DecodedBodies<Value: Sendable>: Sendable {
    let capacity: Int
    private let values = Mutex<[Data: Value]>([:])

    public init(capacity: Int = 4_096) {
        self.capacity = capacity
    }

    var count: Int { values.withLock { $0.count } }

    func value(for body: Data) -> Value? {
        guard body.count <= 4_096 else { return nil }
        return values.withLock { $0[body] }
    }

    func remember(_ value: Value, for body: Data) {
        guard body.count <= 4_096 else { return }
        values.withLock { values in
            if values.count >= capacity { values.removeAll(keepingCapacity: true) }
            values[body] = value
        }
    }
}
