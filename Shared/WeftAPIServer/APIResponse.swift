public import HTTPTypes
public import Hummingbird
import NIOCore
public import WeftProtocol

/// Building responses: JSON through WeftProtocol's encoder, problem documents,
/// raw bytes.
public enum APIResponse {
    public static func json(
        _ value: some Encodable, status: HTTPResponse.Status = .ok, etag: UInt64? = nil,
        extraHeaders: HTTPFields = [:]
    ) throws -> Response {
        bytes(Array(try WeftJSON.encode(value)), status: status, etag: etag, extraHeaders: extraHeaders)
    }

    public static func bytes(
        _ bytes: [UInt8], status: HTTPResponse.Status = .ok, contentType: String = "application/json",
        etag: UInt64? = nil, extraHeaders: HTTPFields = [:]
    ) -> Response {
        var headers = extraHeaders
        headers[.contentType] = contentType
        if let etag { headers[.eTag] = "\"\(etag)\"" }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    public static func noContent(extraHeaders: HTTPFields = [:]) -> Response {
        Response(status: .noContent, headers: extraHeaders)
    }

    public static func problem(_ problem: Problem, extraHeaders: HTTPFields = [:]) -> Response {
        let body = (try? WeftJSON.encode(problem)).map(Array.init) ?? Array(#"{"title":"error"}"#.utf8)
        return bytes(
            body, status: HTTPResponse.Status(code: problem.status), contentType: Problem.contentType,
            extraHeaders: extraHeaders)
    }

    public static func refusal(_ refusal: APIRefusal) -> Response {
        problem(refusal.problem, extraHeaders: refusal.headers)
    }

    /// The 500 answer when a handler failed unexpectedly (the log has the cause).
    public static func internalError(_ service: String) -> Response {
        problem(
            Problem(
                type: Problem.typeBase + "internal", title: "Internal error", status: 500,
                detail: "the \(service) failed to handle this call; its log has the details"))
    }
}

/// A list response: `{"items": [...], "next": "cursor"}` (`next` only when more
/// items follow).
public struct ListBody<Item: Encodable>: Encodable {
    public var items: [Item]
    public var next: String?

    public init(items: [Item], next: String? = nil) {
        self.items = items
        self.next = next
    }

    enum CodingKeys: String, CodingKey { case items, next }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encodeIfPresent(next, forKey: .next)
    }
}

/// Paging over a sorted list: `limit` (1 to 1000, default 100) and `after`, the
/// opaque cursor a previous page returned as `next`.
public struct Page: Sendable {
    public var limit: Int
    public var after: String?

    public static let allowedParameters: Set<String> = ["limit", "after"]

    public init(_ parameters: [String: String]) throws(ProtocolError) {
        after = parameters["after"]
        guard let text = parameters["limit"] else {
            limit = 100
            return
        }
        guard let value = Int(text), (1...1000).contains(value) else {
            throw ProtocolError(field: "limit", "must be a whole number from 1 to 1000, got \(text.prefix(40))")
        }
        limit = value
    }

    /// The page of `items` (sorted by `key`) after the cursor, and the next cursor.
    public func slice<T>(_ items: [T], key: (T) -> String) -> (items: [T], next: String?) {
        let start = after.map { cursor in items.firstIndex { key($0) > cursor } ?? items.endIndex } ?? items.startIndex
        let end = min(start + limit, items.endIndex)
        let page = Array(items[start..<end])
        return (page, end < items.endIndex ? page.last.map(key) : nil)
    }
}
