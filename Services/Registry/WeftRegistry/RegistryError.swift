public import HTTPTypes
public import WeftAPIServer
public import WeftProtocol

/// Why the registry refused or could not complete a call. Each kind maps to one
/// HTTP status and problem type in the admin API (see `RegistryError.problem`).
public struct RegistryError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: String, Equatable, Sendable {
        /// The body or a parameter failed validation (400).
        case invalid
        /// No credentials, or credentials that are not valid (401).
        case unauthenticated
        /// Valid credentials that do not allow this call (403).
        case forbidden
        /// The thing named does not exist (404).
        case notFound
        /// The change contradicts what is stored, e.g. creating something that
        /// exists or deleting a service that still has instances (409).
        case conflict
        /// `If-Match` named a version that is no longer current (412).
        case preconditionFailed
        /// The body is larger than the limit (413).
        case tooLarge
        /// The body is not JSON (415).
        case unsupportedMediaType
        /// Too much work queued; try again shortly (503, Retry-After).
        case overloaded
        /// PostgreSQL cannot be reached; nothing was written (503, Retry-After).
        case unavailable
    }

    public var kind: Kind
    public var message: String
    /// What went wrong underneath (a database's address, a driver's message):
    /// logged, never answered, so an unauthenticated caller learns nothing of
    /// the internals.
    public var cause: String?
    /// Set for `.invalid`: the field-level error from WeftProtocol.
    public var protocolError: ProtocolError?

    public init(_ kind: Kind, _ message: String, cause: String? = nil) {
        self.kind = kind
        self.message = message
        self.cause = cause
    }

    public init(invalid error: ProtocolError) {
        self.kind = .invalid
        self.message = error.description
        self.protocolError = error
    }

    public var description: String { "\(kind.rawValue): \(message)" + (cause.map { " (\($0))" } ?? "") }

    public var status: Int {
        switch kind {
        case .invalid: 400
        case .unauthenticated: 401
        case .forbidden: 403
        case .notFound: 404
        case .conflict: 409
        case .preconditionFailed: 412
        case .tooLarge: 413
        case .unsupportedMediaType: 415
        case .overloaded, .unavailable: 503
        }
    }

    /// The RFC 9457 body for this error.
    public var problem: Problem {
        if let protocolError { return Problem(invalid: protocolError) }
        let (slug, title): (String, String) =
            switch kind {
            case .invalid: ("invalid-request", "The request is not valid")
            case .unauthenticated: ("unauthenticated", "Authentication is required")
            case .forbidden: ("forbidden", "The credentials do not allow this call")
            case .notFound: ("not-found", "Not found")
            case .conflict: ("conflict", "The change conflicts with the stored state")
            case .preconditionFailed: ("precondition-failed", "The stored version has changed")
            case .tooLarge: ("too-large", "The request body is too large")
            case .unsupportedMediaType: ("unsupported-media-type", "The request body must be JSON")
            case .overloaded: ("overloaded", "The registry is overloaded")
            case .unavailable: ("database-unavailable", "The registry's database is unavailable")
            }
        return Problem(type: Problem.typeBase + slug, title: title, status: status, detail: message)
    }
}

extension RegistryError: APIProblem {
    /// Seconds a client waits before trying again after a 503.
    static let retryAfterSeconds = 2

    public var problemHeaders: HTTPFields {
        var headers = HTTPFields()
        switch kind {
        case .unauthenticated: headers[.wwwAuthenticate] = "Bearer realm=\"weft-registry\""
        case .unavailable, .overloaded: headers[.retryAfter] = String(Self.retryAfterSeconds)
        default: break
        }
        return headers
    }
}
