import HTTPTypes
import Hummingbird
import NIOCore
import WeftProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Who is calling: the operator (admin token) or one service's workload (its
/// per-service credential, until mesh certificates identify workloads).
enum Principal: Equatable, Sendable {
    case admin
    case service(ServiceReference)

    /// How the audit log names this caller.
    var actor: String {
        switch self {
        case .admin: "admin"
        case .service(let reference): "service:\(reference)"
        }
    }
}

/// One admin API call being handled: the request plus what handlers need to read
/// it strictly (JSON bodies, query parameters, `If-Match`) and to answer it.
struct APIExchange {
    var request: Request
    var principal: Principal

    /// The largest body the registry reads (a route table of 1,000 rules fits).
    static let maximumBody = WeftJSON.defaultMaximumSize

    /// Decodes the body as `T` with WeftProtocol's strict rules. An empty body
    /// decodes as `{}` when `emptyIsObject` (heartbeats).
    mutating func body<T: Decodable>(_ type: T.Type, emptyIsObject: Bool = false) async throws -> T {
        if let contentType = request.headers[.contentType] {
            let mediaType = trimmed(contentType.split(separator: ";", maxSplits: 1).first ?? "").lowercased()
            guard mediaType == "application/json" || mediaType.hasSuffix("+json") else {
                throw RegistryError(
                    .unsupportedMediaType, "Content-Type is \(contentType.prefix(80)); send application/json")
            }
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: Self.maximumBody)
        } catch is NIOTooManyBytesError {
            throw RegistryError(.tooLarge, "the body is larger than \(Self.maximumBody) bytes")
        }
        if buffer.readableBytes == 0 && emptyIsObject {
            return try decode(type, Data("{}".utf8))
        }
        return try decode(type, Data(buffer.readableBytesView))
    }

    private func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        do {
            return try WeftJSON.decode(type, from: data)
        } catch {
            throw RegistryError(invalid: error)
        }
    }

    /// The query parameters, refusing any not in `allowed` (a typo must not be
    /// silently ignored) and any given twice.
    func query(allowed: Set<String>) throws -> [String: String] {
        var values: [String: String] = [:]
        for (name, value) in request.uri.queryParameters {
            let name = String(name)
            guard allowed.contains(name) else {
                let expected = allowed.isEmpty ? "none" : allowed.sorted().joined(separator: ", ")
                throw RegistryError(
                    invalid: ProtocolError(field: name, "unknown query parameter; expected \(expected)"))
            }
            guard values.updateValue(String(value), forKey: name) == nil else {
                throw RegistryError(invalid: ProtocolError(field: name, "given twice"))
            }
        }
        return values
    }

    /// `If-Match: "12"` (or `12`): the version the caller last saw; nil when absent.
    func ifMatch() throws -> UInt64? {
        guard let value = request.headers[.ifMatch] else { return nil }
        let tag = trimmed(Substring(value))
        let bare = tag.hasPrefix("\"") && tag.hasSuffix("\"") && tag.count >= 2 ? tag.dropFirst().dropLast() : tag
        guard let version = UInt64(bare) else {
            throw RegistryError(
                invalid: ProtocolError(
                    field: "If-Match", "must be one version as an entity tag, like \"12\"; got \(value.prefix(40))"))
        }
        return version
    }

    func requireAdmin() throws {
        guard principal == .admin else {
            throw RegistryError(.forbidden, "this call needs the admin token; a service credential cannot make it")
        }
    }

    /// Admins may act on any service; a service credential only on its own.
    func requireAdminOr(_ service: ServiceReference) throws {
        switch principal {
        case .admin: return
        case .service(let own) where own == service: return
        case .service(let own):
            throw RegistryError(.forbidden, "the credential belongs to \(own); it cannot act for \(service)")
        }
    }
}

/// Drops spaces and tabs at both ends.
func trimmed(_ text: Substring) -> Substring {
    var result = text
    while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
    while let last = result.last, last == " " || last == "\t" { result.removeLast() }
    return result
}

/// Paging over a sorted list: `limit` (1 to 1000, default 100) and `after`, the
/// opaque cursor a previous page returned as `next`.
struct Page {
    var limit: Int
    var after: String?

    static let allowedParameters: Set<String> = ["limit", "after"]

    init(_ parameters: [String: String]) throws {
        after = parameters["after"]
        guard let text = parameters["limit"] else {
            limit = 100
            return
        }
        guard let value = Int(text), (1...1000).contains(value) else {
            throw RegistryError(
                invalid: ProtocolError(field: "limit", "must be a whole number from 1 to 1000, got \(text.prefix(40))"))
        }
        limit = value
    }

    /// The page of `items` (sorted by `key`) after the cursor, and the next cursor.
    func slice<T>(_ items: [T], key: (T) -> String) -> (items: [T], next: String?) {
        let start = after.map { cursor in items.firstIndex { key($0) > cursor } ?? items.endIndex } ?? items.startIndex
        let end = min(start + limit, items.endIndex)
        let page = Array(items[start..<end])
        return (page, end < items.endIndex ? page.last.map(key) : nil)
    }
}

/// Building responses.
enum APIResponse {
    static func json(
        _ value: some Encodable, status: HTTPResponse.Status = .ok, etag: UInt64? = nil,
        extraHeaders: HTTPFields = [:]
    ) throws -> Response {
        bytes(Array(try WeftJSON.encode(value)), status: status, etag: etag, extraHeaders: extraHeaders)
    }

    static func bytes(
        _ bytes: [UInt8], status: HTTPResponse.Status = .ok, contentType: String = "application/json",
        etag: UInt64? = nil, extraHeaders: HTTPFields = [:]
    ) -> Response {
        var headers = extraHeaders
        headers[.contentType] = contentType
        if let etag { headers[.eTag] = "\"\(etag)\"" }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func noContent(version: UInt64? = nil) -> Response {
        var headers = HTTPFields()
        if let version { headers[RegistryAPI.indexHeader] = String(version) }
        return Response(status: .noContent, headers: headers)
    }

    static func problem(_ problem: Problem, extraHeaders: HTTPFields = [:]) -> Response {
        let body = (try? WeftJSON.encode(problem)).map(Array.init) ?? Array(#"{"title":"error"}"#.utf8)
        return bytes(
            body, status: HTTPResponse.Status(code: problem.status), contentType: Problem.contentType,
            extraHeaders: extraHeaders)
    }
}

/// A list response: `{"items": [...], "next": "cursor"}` (`next` only when more
/// items follow).
struct ListBody<Item: Encodable>: Encodable {
    var items: [Item]
    var next: String?

    enum CodingKeys: String, CodingKey { case items, next }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encodeIfPresent(next, forKey: .next)
    }
}
