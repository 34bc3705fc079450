public import HTTPTypes
public import WeftProtocol

/// A refusal any Weft admin API gives the same way: not authenticated, not
/// found, wrong method, body too large or not JSON, too many requests. Each
/// service maps its own domain errors to problems; these are the shared ones.
public struct APIRefusal: Error, Equatable, CustomStringConvertible, Sendable {
    public var status: Int
    /// The last segment of the problem type (`https://weft.dev/problems/<slug>`).
    public var slug: String
    public var title: String
    public var detail: String
    /// Headers the refusal needs: `WWW-Authenticate`, `Allow`, `Retry-After`.
    public var headers: HTTPFields

    public init(status: Int, slug: String, title: String, detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = headers
    }

    public var description: String { "\(status) \(slug): \(detail)" }

    public var problem: Problem {
        Problem(type: Problem.typeBase + slug, title: title, status: status, detail: detail)
    }

    /// 401 with the challenge naming `realm`.
    public static func unauthenticated(_ detail: String, realm: String) -> APIRefusal {
        APIRefusal(
            status: 401, slug: "unauthenticated", title: "Authentication is required", detail: detail,
            headers: [.wwwAuthenticate: "Bearer realm=\"\(realm)\""])
    }

    public static func forbidden(_ detail: String) -> APIRefusal {
        APIRefusal(status: 403, slug: "forbidden", title: "The credentials do not allow this call", detail: detail)
    }

    public static func notFound(_ detail: String) -> APIRefusal {
        APIRefusal(status: 404, slug: "not-found", title: "Not found", detail: detail)
    }

    public static func methodNotAllowed(_ template: String, allowed: [HTTPRequest.Method]) -> APIRefusal {
        let allow = allowed.map(\.rawValue).joined(separator: ", ")
        return APIRefusal(
            status: 405, slug: "method-not-allowed", title: "Method not allowed",
            detail: "\(template) accepts \(allow)", headers: [.allow: allow])
    }

    public static func tooLarge(limit: Int) -> APIRefusal {
        APIRefusal(
            status: 413, slug: "too-large", title: "The request body is too large",
            detail: "the body is larger than \(limit) bytes")
    }

    public static func unsupportedMediaType(_ contentType: String) -> APIRefusal {
        APIRefusal(
            status: 415, slug: "unsupported-media-type", title: "The request body must be JSON",
            detail: "Content-Type is \(contentType.prefix(80)); send application/json")
    }

    /// 429 with `Retry-After` (whole seconds, at least 1).
    public static func tooManyRequests(_ detail: String, retryAfterSeconds: Int) -> APIRefusal {
        APIRefusal(
            status: 429, slug: "too-many-requests", title: "Too many requests", detail: detail,
            headers: [.retryAfter: String(max(1, retryAfterSeconds))])
    }
}
