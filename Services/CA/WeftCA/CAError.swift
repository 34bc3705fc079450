public import HTTPTypes
public import WeftAPIServer
public import WeftProtocol

/// Why the CA refused or could not do something. Each kind maps to one HTTP
/// status and problem type in the admin API; the message says precisely what
/// was wrong, never a secret.
public struct CAError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: String, Equatable, Sendable {
        /// The CSR is not one PEM certificate request, or does not parse (400).
        case invalidCSR = "invalid-csr"
        /// The CSR's signature does not verify with its own key (400).
        case badSignature = "bad-signature"
        /// The key type or size is not accepted (400).
        case unsupportedKey = "unsupported-key"
        /// The CSR asks for an identity other than the one authorized (403).
        case identityMismatch = "identity-mismatch"
        /// The join token is unknown, expired, used up or revoked (401).
        case tokenRejected = "join-token-rejected"
        /// The certificate presented for renewal is missing, expired, revoked, or
        /// not one this CA issued (401).
        case certificateRejected = "certificate-rejected"
        /// The thing named does not exist (404).
        case notFound = "not-found"
        /// The change contradicts the current state, e.g. retiring a root whose
        /// leaves are still valid (409).
        case conflict
        /// PostgreSQL cannot be reached; nothing was written (503, Retry-After).
        case unavailable = "database-unavailable"
        /// The authorities on disk are missing, unreadable, or unsafe (start-up).
        case authorityUnusable = "authority-unusable"
        /// OpenSSL failed where it should not have (500).
        case internalFailure = "internal"
    }

    public var kind: Kind
    public var message: String
    /// What went wrong underneath (a database's address, a driver's message):
    /// logged, never answered, so an unauthenticated caller learns nothing of
    /// the internals.
    public var cause: String?

    public init(_ kind: Kind, _ message: String, cause: String? = nil) {
        self.kind = kind
        self.message = message
        self.cause = cause
    }

    public var description: String { "\(kind.rawValue): \(message)" + (cause.map { " (\($0))" } ?? "") }

    public var status: Int {
        switch kind {
        case .invalidCSR, .badSignature, .unsupportedKey: 400
        case .identityMismatch: 403
        case .tokenRejected, .certificateRejected: 401
        case .notFound: 404
        case .conflict: 409
        case .unavailable: 503
        case .authorityUnusable, .internalFailure: 500
        }
    }

    public var problem: Problem {
        let title =
            switch kind {
            case .invalidCSR: "The certificate signing request is not valid"
            case .badSignature: "The certificate signing request's signature does not verify"
            case .unsupportedKey: "The key type or size is not accepted"
            case .identityMismatch: "The requested identity is not the authorized one"
            case .tokenRejected: "The join token is not usable"
            case .certificateRejected: "The certificate presented cannot be renewed"
            case .notFound: "Not found"
            case .conflict: "The change conflicts with the CA's state"
            case .unavailable: "The CA's database is unavailable"
            case .authorityUnusable: "The CA's authority is unusable"
            case .internalFailure: "Internal error"
            }
        return Problem(type: Problem.typeBase + kind.rawValue, title: title, status: status, detail: message)
    }
}

extension CAError: APIProblem {
    public var problemHeaders: HTTPFields {
        kind == .unavailable ? [.retryAfter: "2"] : [:]
    }
}
